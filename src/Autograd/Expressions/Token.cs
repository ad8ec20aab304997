namespace Autograd.Expressions;

public enum TokenKind { Number, Name, Plus, Minus, Star, Slash, Caret, LeftParen, RightParen, LeftBracket, RightBracket, Comma, End }

/// <summary>One lexeme: its kind, its text and where it starts (1-based column).</summary>
public readonly record struct Token(TokenKind Kind, string Text, int Column)
{
    public SourceSpan Span => new(Column, Math.Max(Text.Length, 1));
    public string Describe() => Kind == TokenKind.End ? "the end of the formula" : $"'{Text}'";
}
