using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>
/// A job's event log as text/event-stream, from a position to the <c>completed</c> event. Written here
/// rather than with TypedResults.ServerSentEvents because that has no way to send the comment lines
/// that keep an idle connection open through proxies (dotnet/aspnetcore#65103).
/// </summary>
public sealed class EventStreamResult(EventLog log, long afterSequence, TimeSpan keepAlive) : IResult
{
    public const int ReconnectMilliseconds = 2000;

    public async Task ExecuteAsync(HttpContext context)
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var aborted = context.RequestAborted;

        try
        {
            await Write(response, $"retry: {ReconnectMilliseconds}\n\n", aborted);
            var cursor = afterSequence;
            while (true)
            {
                var (events, closed, changed) = log.ReadAfter(cursor);
                if (events.Count > 0)
                {
                    var text = new StringBuilder();
                    foreach (var e in events) Format(text, e, json);
                    await Write(response, text.ToString(), aborted);
                    cursor = events[^1].Sequence;
                }
                if (closed) return;
                var delay = Task.Delay(keepAlive, aborted);
                if (await Task.WhenAny(changed, delay) == delay)
                    await Write(response, ": keep-alive\n\n", aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; the job goes on.
        }
    }

    static void Format(StringBuilder text, JobEvent e, JsonSerializerOptions json)
    {
        var id = e.Type switch
        {
            JobEvent.IterationType => e.Iteration?.ToString(),
            JobEvent.CompletedType => CompletedId,
            _ => null,
        };
        if (id is not null) text.Append("id: ").Append(id).Append('\n');
        text.Append("event: ").Append(e.Type).Append('\n');
        text.Append("data: ").Append(JsonSerializer.Serialize(e.Data, e.Data.GetType(), json)).Append("\n\n");
    }

    /// <summary>The id of the final event; a reconnect that sends it back gets 204 No Content, which stops EventSource.</summary>
    public const string CompletedId = "completed";

    static async Task Write(HttpResponse response, string text, CancellationToken cancellation)
    {
        await response.WriteAsync(text, cancellation);
        await response.Body.FlushAsync(cancellation);
    }
}
