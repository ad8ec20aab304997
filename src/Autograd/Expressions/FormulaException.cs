namespace Autograd.Expressions;

/// <summary>The kinds of formula error, each with a stable code that clients can branch on.</summary>
public enum FormulaError
{
    Syntax,
    TooLong,
    TooLarge,
    TooDeep,
    UnknownName,
    UnknownFunction,
    WrongArity,
    IndexOutOfRange,
    ShapeMismatch,
    NotScalar,
    /// <summary>A let statement binds a name that is already a parameter, constant, data column or earlier let.</summary>
    DuplicateName,
}

/// <summary>A formula that cannot be parsed or bound, with the 1-based column of the offending text.</summary>
public sealed class FormulaException(FormulaError error, string message, SourceSpan span, string? token = null, string? expected = null)
    : Exception($"{message} ({span})")
{
    public FormulaError Error { get; } = error;
    /// <summary>The message without the position, for clients that show the position themselves.</summary>
    public string Reason { get; } = message;
    public SourceSpan Span { get; } = span;
    /// <summary>The offending text, when there is one.</summary>
    public string? Token { get; } = token;
    /// <summary>What the parser expected at <see cref="Span"/>, when it can say.</summary>
    public string? Expected { get; } = expected;
}
