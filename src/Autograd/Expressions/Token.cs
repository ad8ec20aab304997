namespace Autograd.Expressions;

public enum TokenKind { Number, Name, Plus, Minus, Star, Slash, Caret, LeftParen, RightParen, LeftBracket, RightBracket, Comma,
    /// <summary><c>=</c> or R's <c>&lt;-</c>, binding a name in a let statement.</summary>
    Assign,
    /// <summary><c>;</c> or a newline: the end of a statement.</summary>
    Semicolon, Newline,
    /// <summary><c>:</c> between the bounds of a slice.</summary>
    Colon,
    /// <summary>R's matrix product <c>%*%</c>.</summary>
    MatMul, End }

/// <summary>One lexeme: its kind, its text and where it starts (1-based column).</summary>
public readonly record struct Token(TokenKind Kind, string Text, int Column)
{
    public SourceSpan Span => new(Column, Math.Max(Text.Length, 1));
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the formula",
        TokenKind.Newline => "the end of the line",
        _ => $"'{Text}'",
    };
}
