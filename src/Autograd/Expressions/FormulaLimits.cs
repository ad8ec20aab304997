namespace Autograd.Expressions;

/// <summary>Size limits on a formula, checked while parsing.</summary>
/// <param name="MaxLength">Characters in the formula text.</param>
/// <param name="MaxNodes">Numbers, names, operators, calls and indexings together.</param>
/// <param name="MaxDepth">Nesting depth of the syntax tree: <c>a+b+c</c> is 3 deep, <c>-(-(x))</c> is 3.</param>
/// <param name="MaxTapeElements">Numbers the recorded tape may hold over all its nodes (a vector node of n rows holds n).</param>
public sealed record FormulaLimits(int MaxLength = 100_000, int MaxNodes = 50_000, int MaxDepth = 10_000, long MaxTapeElements = 50_000_000)
{
    public static readonly FormulaLimits Default = new();
}
