using Autograd.Expressions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Autograd.Api.Infrastructure;

/// <summary>An expected failure of a request, on its way to becoming an RFC 9457 problem response.</summary>
public sealed class ProblemException(int status, string code, string title, string detail,
    IReadOnlyDictionary<string, object?>? extensions = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string Title { get; } = title;
    public IReadOnlyDictionary<string, object?> Extensions { get; } = extensions ?? new Dictionary<string, object?>();
}

/// <summary>The problem types of this API: a stable <c>type</c> URI and <c>code</c> per kind of failure.</summary>
public static class Problems
{
    public const string TypeBase = "https://autograd.service/problems/";

    public static ProblemHttpResult ToResult(this ProblemException problem)
    {
        var extensions = new Dictionary<string, object?>(problem.Extensions) { ["code"] = problem.Code };
        return TypedResults.Problem(problem.Message, statusCode: problem.Status, title: problem.Title,
            type: TypeBase + problem.Code, extensions: extensions);
    }

    /// <summary>Gives the framework's own problems (404, 405, 415 ...) a stable type and code like ours.</summary>
    public static void AddStableType(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Extensions.ContainsKey("code")) return;
        var (code, detail) = problem.Status switch
        {
            404 => ("not-found", "There is nothing at this address; see /swagger for the API."),
            405 => ("method-not-allowed", "This address does not take that HTTP method; see /swagger."),
            413 => ("request-too-large", "The request body is larger than the service accepts; see Limits:MaxRequestBodyBytes."),
            415 => ("unsupported-media-type", context.HttpContext.Request.Path.StartsWithSegments("/datasets")
                ? "Send the dataset as application/json ({\"columns\": {...}}) or as text/csv (with curl: -H 'Content-Type: text/csv' --data-binary @data.csv)."
                : "Send the request body as application/json (with curl: -H 'Content-Type: application/json')."),
            >= 500 => ("internal-error", "The service failed unexpectedly; the traceId identifies the logged error."),
            _ => ("bad-request", problem.Detail),
        };
        problem.Type = TypeBase + code;
        problem.Detail ??= detail;
        problem.Extensions["code"] = code;
    }

    public static ProblemException Invalid(string field, string detail) =>
        new(StatusCodes.Status400BadRequest, "invalid-input", "The request is not valid", detail,
            new Dictionary<string, object?> { ["field"] = field });

    public static ProblemException TooLarge(string code, string field, string detail) =>
        new(StatusCodes.Status413PayloadTooLarge, code, "The request exceeds a limit", detail,
            new Dictionary<string, object?> { ["field"] = field });

    public static ProblemException NotFinite(string detail, Dictionary<string, object?> extensions) =>
        new(StatusCodes.Status422UnprocessableEntity, "non-finite-result", "The result is not a finite number", detail, extensions);

    public static ProblemException FromFormula(FormulaException error, string field, string text)
    {
        var (status, code, title) = error.Error switch
        {
            FormulaError.Syntax => (400, "formula-syntax", "The formula could not be parsed"),
            FormulaError.TooLong => (413, "formula-too-long", "The formula exceeds a limit"),
            FormulaError.TooLarge => (413, "formula-too-large", "The formula exceeds a limit"),
            FormulaError.TooDeep => (413, "formula-too-deep", "The formula exceeds a limit"),
            FormulaError.UnknownName => (400, "unknown-name", "The formula uses an unknown name"),
            FormulaError.UnknownFunction => (400, "unknown-function", "The formula calls an unknown function"),
            FormulaError.WrongArity => (400, "wrong-arity", "A function has the wrong number of arguments"),
            FormulaError.IndexOutOfRange => (400, "index-out-of-range", "An index is out of range"),
            FormulaError.ShapeMismatch => (400, "shape-mismatch", "Operand shapes do not fit"),
            FormulaError.NotScalar => (400, "not-scalar", "The formula does not give a single number"),
            FormulaError.DuplicateName => (400, "duplicate-name", "A let statement rebinds a name"),
            _ => (400, "formula-error", "The formula is not valid"),
        };
        var extensions = new Dictionary<string, object?>
        {
            ["field"] = field,
            ["column"] = error.Span.Column,
            ["length"] = error.Span.Length,
            ["token"] = error.Token ?? Excerpt(text, error.Span),
            ["expected"] = error.Expected,
        };
        return new ProblemException(status, code, title, $"{error.Reason} at {error.Span} of '{field}'.", extensions);
    }

    /// <summary>Client text quoted in a message, cut short so that a long input is not echoed back whole.</summary>
    public static string Clip(string text, int length = 60) => text.Length <= length ? text : text[..length] + "…";

    /// <summary>The text a span covers, cut short for long spans.</summary>
    public static string Excerpt(string text, SourceSpan span)
    {
        if (span.Column < 1 || span.Column > text.Length) return "";
        var length = Math.Min(span.Length, text.Length - span.Column + 1);
        var excerpt = text.Substring(span.Column - 1, Math.Min(length, 80));
        return length > 80 ? excerpt + "…" : excerpt;
    }
}
