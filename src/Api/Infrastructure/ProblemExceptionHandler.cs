using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Autograd.Api.Infrastructure;

/// <summary>
/// Turns request failures the framework raises (malformed JSON, wrong media type, body too large) and
/// <see cref="ProblemException"/>s from anywhere into problem details with a stable type. Everything
/// else falls through to the default 500 problem.
/// </summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            ProblemException p => p,
            _ when Redis.StoreRegistration.IsUnavailable(exception) => Redis.StoreRegistration.Unavailable(),
            BadHttpRequestException bad => FromBadRequest(bad, RequestContract(context)),
            _ => null,
        };
        if (problem is null) return false;

        context.Response.StatusCode = problem.Status;
        if (problem.Extensions.TryGetValue("retryAfterSeconds", out var retry) && retry is not null)
            context.Response.Headers.RetryAfter = Convert.ToString(retry, System.Globalization.CultureInfo.InvariantCulture);
        var details = new ProblemDetails
        {
            Status = problem.Status,
            Type = Problems.TypeBase + problem.Code,
            Title = problem.Title,
            Detail = problem.Message,
        };
        details.Extensions["code"] = problem.Code;
        foreach (var (key, value) in problem.Extensions) details.Extensions[key] = value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = details,
            Exception = exception,
        });
    }

    /// <summary>The request body's contract type of the endpoint that failed (the handler runs after the endpoint is cleared).</summary>
    static Type? RequestContract(HttpContext context)
    {
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        return endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
    }

    static ProblemException FromBadRequest(BadHttpRequestException bad, Type? contract)
    {
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
            return new ProblemException(413, "request-too-large", "The request exceeds a limit",
                "The request body is larger than the service accepts; see Limits:MaxRequestBodyBytes.");
        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return new ProblemException(415, "unsupported-media-type", "Unsupported media type",
                $"{bad.Message} Send the body as application/json.");
        if (bad.InnerException is JsonException json) return JsonProblems.FromJson(json, contract);
        return new ProblemException(bad.StatusCode, "bad-request", "The request could not be read", bad.Message);
    }
}
