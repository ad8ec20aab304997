namespace Autograd.Expressions;

/// <summary>Splits formula text into tokens; <c>**</c> is read as <c>^</c>.</summary>
public static class Lexer
{
    public static List<Token> Tokenize(string text)
    {
        // A token takes two characters or more in most formulas (an operator and a space): room for them all, at once.
        var tokens = new List<Token>(text.Length / 2 + 4);
        var i = 0;
        while (i < text.Length)
        {
            var ch = text[i];
            if (ch == '\n')
            {
                tokens.Add(new Token(TokenKind.Newline, "\n", i + 1));
                i++;
                continue;
            }
            if (char.IsWhiteSpace(ch)) { i++; continue; }
            var start = i;
            if (char.IsAsciiDigit(ch) || (ch == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                i = ScanNumber(text, i);
                tokens.Add(new Token(TokenKind.Number, text[start..i], start + 1));
                continue;
            }
            if (char.IsAsciiLetter(ch) || ch == '_')
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, text[start..i], start + 1));
                continue;
            }
            if (ch == '<' && i + 1 < text.Length && text[i + 1] == '-')
            {
                tokens.Add(new Token(TokenKind.Assign, "<-", start + 1));
                i += 2;
                continue;
            }
            if (ch == '%' && string.CompareOrdinal(text, i, "%*%", 0, 3) == 0)
            {
                tokens.Add(new Token(TokenKind.MatMul, "%*%", start + 1));
                i += 3;
                continue;
            }
            if (ch == '*' && i + 1 < text.Length && text[i + 1] == '*')
            {
                tokens.Add(new Token(TokenKind.Caret, "**", start + 1));
                i += 2;
                continue;
            }
            var kind = ch switch
            {
                '+' => TokenKind.Plus,
                '-' => TokenKind.Minus,
                '*' => TokenKind.Star,
                '/' => TokenKind.Slash,
                '^' => TokenKind.Caret,
                '(' => TokenKind.LeftParen,
                ')' => TokenKind.RightParen,
                '[' => TokenKind.LeftBracket,
                ']' => TokenKind.RightBracket,
                ',' => TokenKind.Comma,
                '=' => TokenKind.Assign,
                ';' => TokenKind.Semicolon,
                ':' => TokenKind.Colon,
                _ => throw new FormulaException(FormulaError.Syntax, $"Unexpected character '{ch}'",
                    new SourceSpan(start + 1, 1), ch.ToString(), "a number, a name, an operator or a parenthesis"),
            };
            tokens.Add(new Token(kind, ch.ToString(), start + 1));
            i++;
        }
        tokens.Add(new Token(TokenKind.End, "", text.Length + 1));
        return tokens;
    }

    static int ScanNumber(string text, int i)
    {
        while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        if (i < text.Length && text[i] == '.')
        {
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
        }
        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            var j = i + 1;
            if (j < text.Length && (text[j] == '+' || text[j] == '-')) j++;
            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                while (j < text.Length && char.IsAsciiDigit(text[j])) j++;
                i = j;
            }
        }
        return i;
    }
}
