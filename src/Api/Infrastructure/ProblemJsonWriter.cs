using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Autograd.Api.Infrastructure;

/// <summary>
/// Writes every problem as application/problem+json, whatever the request's Accept header says: the framework's
/// own writer declines when Accept leaves JSON out (a trace client asking for text/csv), and the client would then
/// get an empty body or plain text instead of a problem it can read.
/// </summary>
public sealed class ProblemJsonWriter(IOptions<JsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        Problems.AddStableType(context);
        var problem = context.ProblemDetails;
        problem.Status ??= context.HttpContext.Response.StatusCode;
        problem.Title ??= Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? context.HttpContext.TraceIdentifier);
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(problem, json.Value.SerializerOptions, "application/problem+json"));
    }
}

/// <summary>
/// Refuses a request body in a character set the service cannot read (an unknown name, or UTF-7) with a 415 problem
/// before any endpoint tries to decode it.
/// </summary>
public static class CharsetCheck
{
    public static WebApplication UseCharsetCheck(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            // Most requests name no charset (application/json): they are not parsed at all.
            var contentType = context.Request.ContentType;
            if (contentType is null || !contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)) return next(context);
            if (MediaTypeHeaderValue.TryParse(contentType, out var type) && type.Charset.HasValue && !Readable(type.Charset.Value!))
                return ApiKeys.WriteProblem(context, new ProblemException(415, "unsupported-media-type", "Unsupported character set",
                    $"The request body's charset '{Problems.Clip(type.Charset.Value!)}' is not one the service reads; send UTF-8 (or leave the charset out)."));
            return next(context);
        });
        return app;
    }

    static bool Readable(string charset)
    {
        try
        {
            var encoding = Encoding.GetEncoding(charset.Trim('"'));
            return encoding.CodePage != 65000;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return false;
        }
    }
}
