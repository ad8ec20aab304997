using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Autograd.Optimization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Tests;

/// <summary>
/// A race's work as a worker runs it: translated from its spec, stopped at the end of round k (several k: every run
/// going, one run ended, only one left), its checkpoint written as the Redis queue writes it, and resumed on a work
/// translated afresh (new tapes, new race). The events it appends after round k and its completion are the
/// uninterrupted race's, bit for bit (time aside); the events before are the interrupted run's.
/// </summary>
public sealed class RaceCheckpointTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    static string Body(bool miniBatches)
    {
        const int rows = 192;
        var d = Enumerable.Range(0, rows).Select(i => i / (double)rows).ToArray();
        var y = d.Select((v, i) => 2 * v + 0.1 + 0.05 * Math.Sin(7 * i)).ToArray();
        var body = JsonNode.Parse($$"""
            {"expression": "mean((y - p*d - q)^2)", "parameters": {"p": 0, "q": 0}, "data": {"d": {{Api.Numbers(d)}}, "y": {{Api.Numbers(y)}}},
             "maxIterations": 60, "gradientNormTolerance": 1e-10, "recordEvery": 1, "raceTarget": 0.01}
            """)!.AsObject();
        if (miniBatches)
        {
            body["optimizers"] = JsonNode.Parse("""
                [{"type": "sgd", "learningRate": 0.2, "momentum": 0.9}, {"type": "lbfgs", "lineSearch": "none", "learningRate": 0.2}, {"type": "adam", "learningRate": 0.05}]
                """);
            (body["batchSize"], body["shuffle"], body["seed"]) = (32, true, 3);
        }
        else
        {
            // The bound on q holds at the solution (q ≈ 0.1); levenberg-marquardt and lbfgs end early, adam goes on.
            body["optimizers"] = JsonNode.Parse("""[{"type": "lbfgs"}, {"type": "levenberg-marquardt"}, {"type": "adam", "learningRate": 0.05}]""");
            body["bounds"] = JsonNode.Parse("""{"q": {"min": 0.2}}""");
        }
        return body.ToJsonString();
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 4)]
    [InlineData(false, 20)]
    [InlineData(false, 58)]
    [InlineData(true, 1)]
    [InlineData(true, 6)]
    [InlineData(true, 13)]
    [InlineData(true, 40)]
    public void A_race_resumed_from_the_checkpoint_of_round_k_gives_the_uninterrupted_races_events_and_result(bool miniBatches, int round)
    {
        var translator = factory.Services.GetRequiredService<MinimizeTranslator>();
        var json = factory.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        // As RedisJobQueue stores a checkpoint.
        var stored = new JsonSerializerOptions(json)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        var spec = new MinimizeSpec("race", null, JsonSerializer.Deserialize<MinimizeRequest>(Body(miniBatches), json)!, DateTimeOffset.UnixEpoch);

        (List<string> Events, MinimizeCompleted Completed) Run(MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint, CancellationToken cancellation)
        {
            var work = translator.Translate(spec).Work;
            var log = new RecordingLog();
            var progress = new JobProgress("race", _ => true, log, 1, 100_000, 1 << 30, TimeProvider.System, json);
            return (log.Events, work.Run(progress, cancellation, resume, onCheckpoint));
        }

        var whole = Run(null, null, default);
        byte[]? saved = null;
        using var stop = new CancellationTokenSource();
        var first = Run(null, (iteration, capture) =>
        {
            if (iteration != round) return;
            saved = JsonSerializer.SerializeToUtf8Bytes(capture(), stored);
            stop.Cancel();
        }, stop.Token);
        Assert.NotNull(saved);
        var checkpoint = JsonSerializer.Deserialize<MinimizerCheckpoint>(saved, stored)!;
        Assert.Equal(round, checkpoint.Iteration);
        Assert.Equal(3, checkpoint.Lanes!.Length);
        var resumed = Run(checkpoint, null, default);

        // Events carry id iteration × 3 + run: those up to the round are the first run's, those after the resumed one's.
        var lastId = round * 3 + 2;
        Assert.Equal(whole.Events.Where(e => Id(e) <= lastId), first.Events.Where(e => Id(e) <= lastId));
        Assert.Equal(whole.Events.Where(e => Id(e) > lastId), resumed.Events);
        Assert.Equal(Timeless(whole.Completed), Timeless(resumed.Completed));
        if (miniBatches) Assert.All(whole.Events, e => Assert.Contains("\"epoch\":", e));
        if (!miniBatches && round > 4)
            Assert.Contains(checkpoint.Lanes, lane => lane.Ended is not null);
    }

    static int Id(string frame) => int.Parse(frame.AsSpan(4, frame.IndexOf('\n') - 4), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The completion as JSON with the seconds each run took (the machine's, not the run's) left out.</summary>
    static string Timeless(MinimizeCompleted completed) => JsonSerializer.Serialize(completed with
    {
        Race = completed.Race?.Select(r => r with { Seconds = 0, SecondsToTarget = r.SecondsToTarget is null ? null : 0 }).ToArray(),
    }, Api.Json);

    /// <summary>An event log that keeps each frame as text.</summary>
    sealed class RecordingLog : IEventLog
    {
        public List<string> Events { get; } = [];
        public long Bytes { get; private set; }
        public int IterationCount => Events.Count;
        public bool IsEvicted => false;

        public void Append(EventKind kind, int iteration, ReadOnlySpan<byte> frame, int dataOffset)
        {
            Events.Add(Encoding.UTF8.GetString(frame));
            Bytes += frame.Length;
        }

        public void Thin(int keepMultiplesOf) => throw new NotSupportedException();
        public long Evict() => throw new NotSupportedException();
        public ValueTask<EventRead> ReadAfterAsync(long afterSequence, int afterIteration, List<EventFrame> frames, CancellationToken cancellation = default) =>
            throw new NotSupportedException();
        public ValueTask<List<EventFrame>> SnapshotAsync(CancellationToken cancellation = default) => throw new NotSupportedException();
    }
}
