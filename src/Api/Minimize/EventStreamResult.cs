using System.Buffers;
using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace Autograd.Api.Minimize;

/// <summary>
/// A job's event log as text/event-stream, from a position to the <c>completed</c> event. Every subscriber
/// copies the log's shared frames into its connection, at most 64 KiB per flush, so a subscriber costs a cursor
/// and the connection's own buffer, never a serialisation. A reader that does not take a write within the
/// write timeout is disconnected; on shutdown every stream ends within <see cref="ShutdownGrace"/>.
/// Written here rather than with TypedResults.ServerSentEvents because that has no way to send the comment
/// lines that keep an idle connection open through proxies (dotnet/aspnetcore#65103).
/// </summary>
public sealed class EventStreamResult(IEventLog log, long afterSequence, int afterIteration, TimeSpan keepAlive, TimeSpan writeTimeout) : IResult
{
    public const int ReconnectMilliseconds = 2000;

    /// <summary>The id of the final event; a reconnect that sends it back gets 204 No Content, which stops EventSource.</summary>
    public const string CompletedId = "completed";

    /// <summary>How long streams have, once the service stops, to deliver the cancelled completions of their jobs.</summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(2);

    static readonly byte[] Retry = "retry: 2000\n\n"u8.ToArray();
    static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

        using var shutdown = new CancellationTokenSource();
        using var onStopping = stopping.Register(() => shutdown.CancelAfter(ShutdownGrace));
        using var writeDeadline = new CancellationTokenSource();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdown.Token, writeDeadline.Token);
        var token = cancellation.Token;
        var frames = new List<EventFrame>();
        var lastSent = Stopwatch.GetTimestamp();
        var streams = context.RequestServices.GetService<StreamMetrics>();
        streams?.Opened();
        try
        {
            await Send(Retry);
            var cursor = afterSequence;
            while (true)
            {
                frames.Clear();
                var read = await log.ReadAfterAsync(cursor, afterIteration, frames, token);
                if (frames.Count > 0)
                {
                    foreach (var frame in frames) response.BodyWriter.Write(frame.Frame.Span);
                    await Send(null);
                    streams?.Sent(frames.Count);
                }
                cursor = read.Cursor;
                if (read.Ended) return;
                if (read.Changed.IsCompleted) continue;
                // Counted from the last write, not from this wait: a store whose readers wake up periodically
                // (Redis re-reads every half second) must not put the keep-alive off for ever.
                var idle = keepAlive - Stopwatch.GetElapsedTime(lastSent);
                try
                {
                    if (idle <= TimeSpan.Zero) throw new TimeoutException();
                    await read.Changed.WaitAsync(idle, token);
                }
                catch (TimeoutException)
                {
                    await Send(KeepAlive);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away (the job goes on), or did not read in time, or the service is stopping: let go of the connection.
            if (!context.RequestAborted.IsCancellationRequested) context.Abort();
        }
        catch (Exception e) when (Redis.StoreRegistration.IsUnavailable(e))
        {
            // The shared store went away mid-stream: end the stream (the client reconnects with Last-Event-ID), the job goes on.
            context.RequestServices.GetRequiredService<ILogger<EventStreamResult>>()
                .LogWarning("An event stream ended because the store is unreachable: {Message}", e.Message);
            if (!context.RequestAborted.IsCancellationRequested) context.Abort();
        }
        finally
        {
            streams?.Closed();
        }

        async Task Send(byte[]? bytes)
        {
            if (bytes is not null) response.BodyWriter.Write(bytes);
            writeDeadline.CancelAfter(writeTimeout);
            var flushed = await response.BodyWriter.FlushAsync(token);
            writeDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
            if (flushed.IsCanceled) throw new OperationCanceledException(token);
            lastSent = Stopwatch.GetTimestamp();
        }
    }
}

/// <summary>Counts open event streams and the events written to them; read by the metrics.</summary>
public sealed class StreamMetrics
{
    long _open;
    long _sent;

    public long Open => Interlocked.Read(ref _open);
    public long EventsSent => Interlocked.Read(ref _sent);

    public void Opened() => Interlocked.Increment(ref _open);
    public void Closed() => Interlocked.Decrement(ref _open);
    public void Sent(int events) => Interlocked.Add(ref _sent, events);
}
