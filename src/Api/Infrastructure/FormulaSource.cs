using Autograd.Expressions;

namespace Autograd.Api.Infrastructure;

/// <summary>
/// Where a formula's text came from, so that an error points at what the client wrote: the
/// <c>expression</c>, or, for the model shorthand, the <c>model</c> inside its expansion.
/// </summary>
public sealed record FormulaSource(string Text, string Field = "expression", int ModelOffset = -1, int ModelLength = 0, string ModelField = "model")
{
    public static FormulaSource ForModel(string expansion, int offset, string model) => new(expansion, "model", offset, model.Length);

    public ProblemException Problem(FormulaException error)
    {
        var start = error.Span.Column - 1;
        if (ModelOffset >= 0 && start >= ModelOffset && start < ModelOffset + ModelLength)
        {
            var shifted = new FormulaException(error.Error, error.Reason, error.Span with { Column = start - ModelOffset + 1 }, error.Token, error.Expected);
            return Problems.FromFormula(shifted, ModelField, Text.Substring(ModelOffset, ModelLength));
        }
        var problem = Problems.FromFormula(error, ModelOffset >= 0 && ModelField == "model" ? "target" : Field, Text);
        return problem;
    }

    public Formula Parse(FormulaCache cache, FormulaLimits limits)
    {
        try
        {
            return cache.Parse(Text, limits);
        }
        catch (FormulaException e)
        {
            throw Problem(e);
        }
    }
}
