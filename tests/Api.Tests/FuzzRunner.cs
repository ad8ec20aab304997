using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace Autograd.Api.Tests;

/// <summary>The service's error log as the fuzz tests see it: each event at Error or above that carries an exception.</summary>
public sealed class ErrorLog : ILogEventSink
{
    readonly List<LogEvent> _events = [];

    public int Count
    {
        get { lock (_events) return _events.Count; }
    }

    public void Emit(LogEvent logEvent)
    {
        if (logEvent.Level < LogEventLevel.Error || logEvent.Exception is null) return;
        lock (_events) _events.Add(logEvent);
    }

    public List<LogEvent> Since(int mark)
    {
        lock (_events) return _events.Skip(mark).ToList();
    }

    /// <summary>What a job's worker logged, e.g. "Job {JobId} failed".</summary>
    public List<LogEvent> ForJob(string id)
    {
        lock (_events)
            return _events.Where(e => e.Properties.TryGetValue("JobId", out var value) && value.ToString() == $"\"{id}\"").ToList();
    }
}

/// <summary>One in-memory service for every fuzz case, its error log captured so that a 5xx comes with its exception.</summary>
public sealed class FuzzHost : IDisposable
{
    readonly AutogradApiFactory _factory = new();
    readonly WebApplicationFactory<Program> _withLog;

    public FuzzHost()
    {
        // Serilog's ReadFrom.Services picks up every ILogEventSink registered with the host.
        _withLog = _factory.WithWebHostBuilder(builder => builder.ConfigureTestServices(services => services.AddSingleton<ILogEventSink>(Errors)));
        Client = _withLog.CreateClient();
    }

    public ErrorLog Errors { get; } = new();
    public HttpClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        _withLog.Dispose();
        _factory.Dispose();
    }
}

/// <summary>A request that broke the contract, with what is needed to replay it and the exception the service logged.</summary>
internal sealed record FuzzFailure(string Label, string Method, string Path, string RequestBody, string CaseBody, string Verdict, string ResponseBody, string[] Exceptions)
{
    /// <summary>What groups failures with one cause: the verdict and the exception's type and top frame.</summary>
    public string Signature => Exceptions.Length > 0 ? $"{Verdict.Split(':')[0]} {Exceptions[0].Split('\n')[0]} | {TopFrame}" : Verdict.Split(':')[0];

    string TopFrame => Exceptions[0].Split('\n').Skip(1).FirstOrDefault()?.Trim() ?? "";

    public override string ToString() =>
        $"[{Label}] {Method} {Path} -> {Verdict}" +
        (RequestBody.Length > 0 ? $"\n  request: {Chance.Clip(RequestBody)}" : "") +
        (CaseBody != RequestBody ? $"\n  after the case's request: {Chance.Clip(CaseBody)}" : "") +
        $"\n  response: {Chance.Clip(ResponseBody, 300)}" +
        string.Concat(Exceptions.Select(e => "\n  logged: " + e.Replace("\n", "\n    ")));
}

/// <summary>Sends requests one at a time and checks every reply against the contract, collecting failures rather than stopping at the first.</summary>
internal sealed class FuzzRunner(FuzzHost host)
{
    const string ProblemTypeBase = "https://autograd.service/problems/";

    public sealed record Reply(int Status, string? MediaType, string Body);

    public List<FuzzFailure> Failures { get; } = [];
    public int Requests { get; private set; }
    public string Label { get; private set; } = "";
    /// <summary>Answers by status and problem code, e.g. "400 formula-syntax".</summary>
    public SortedDictionary<string, int> Statuses { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, double> SecondsByRoute { get; } = [];

    /// <summary>The first request body of the current case, shown with any failure of its follow-ups.</summary>
    string _caseBody = "";

    public void StartCase(string label) => (Label, _caseBody) = (label, "");

    public Task<Reply?> PostJson(string path, string json, string mediaType = "application/json", params (string Name, string Value)[] headers)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        return Send(HttpMethod.Post, path, content, json, headers);
    }

    public Task<Reply?> Get(string path, params (string Name, string Value)[] headers) => Send(HttpMethod.Get, path, null, "", headers);

    public async Task<Reply?> Send(HttpMethod method, string path, HttpContent? content, string shown, params (string Name, string Value)[] headers)
    {
        Requests++;
        if (_caseBody.Length == 0) _caseBody = shown;
        var mark = host.Errors.Count;
        var watch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        var sent = string.Concat(
            content is not null && content.Headers.TryGetValues("Content-Type", out var type) ? $" [Content-Type: {string.Join(", ", type)}]" : "",
            string.Concat(headers.Select(h => $" [{h.Name}: {h.Value}]")));
        Reply reply;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var response = await host.Client.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            reply = new Reply((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        }
        catch (Exception e)
        {
            Fail(method, path + sent, shown, $"exception: the request failed ({e.GetType().Name}: {e.Message})", "", mark);
            return null;
        }
        var answer = reply.Status >= 400 ? $"{reply.Status} {CodeOf(reply.Body)}" : $"{reply.Status}";
        Statuses[answer] = Statuses.GetValueOrDefault(answer) + 1;
        var route = $"{method} {string.Join('/', path.Split('?')[0].Split('/').Take(2))}";
        SecondsByRoute[route] = SecondsByRoute.GetValueOrDefault(route) + watch.Elapsed.TotalSeconds;
        if (Verdict(reply) is { } verdict) Fail(method, path + sent, shown, verdict, reply.Body, mark);
        return reply;
    }

    /// <summary>A job that ended in an unexpected exception (stopReason "error") is a 500 in all but name.</summary>
    public void ExpectNoJobError(Reply? job)
    {
        if (job is not { Status: 200 } || !job.Body.Contains("\"stopReason\":\"error\"", StringComparison.Ordinal)) return;
        using var document = JsonDocument.Parse(job.Body);
        var id = document.RootElement.GetProperty("id").GetString()!;
        if (Failures.Any(f => f.Path == $"/minimize/{id}" && f.Verdict.StartsWith("job", StringComparison.Ordinal))) return;
        var logged = host.Errors.ForJob(id).Select(e => Describe(e.Exception!)).ToArray();
        Failures.Add(new FuzzFailure(Label, "GET", $"/minimize/{id}", "", _caseBody, "job ended with stopReason error (an unexpected exception)", job.Body, logged));
    }

    void Fail(HttpMethod method, string path, string shown, string verdict, string body, int mark)
    {
        var logged = host.Errors.Since(mark).Select(e => Describe(e.Exception!)).ToArray();
        Failures.Add(new FuzzFailure(Label, method.Method, path, shown, _caseBody, verdict, body, logged));
    }

    static string Describe(Exception e)
    {
        var root = e.GetBaseException();
        var frames = (root.StackTrace ?? "").Split('\n').Select(f => f.Trim()).Where(f => f.Length > 0).ToList();
        // The framework's frames first, then the first of the service's own, which is where a fix goes.
        var shown = frames.Take(4).ToList();
        if (frames.Skip(4).FirstOrDefault(f => f.StartsWith("at Autograd.", StringComparison.Ordinal)) is { } own) shown.Add("... " + own);
        return $"{root.GetType().FullName}: {Chance.Clip(root.Message, 200)}\n" + string.Join("\n", shown);
    }

    /// <summary>Why a reply breaks the contract, or null if it keeps it.</summary>
    static string? Verdict(Reply reply)
    {
        if (reply.Status >= 500) return $"{reply.Status}";
        if (reply.Status >= 400) return ProblemVerdict(reply);
        if (reply.Status is < 200 or >= 300 || reply.Status == 204) return null;
        if (reply.MediaType == "text/csv") return null;
        if (reply.MediaType == "text/event-stream")
        {
            foreach (var line in reply.Body.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)))
                if (JsonError(line[5..]) is { } error) return $"{reply.Status} event data is not JSON: {error}";
            return null;
        }
        return JsonError(reply.Body) is { } bodyError ? $"{reply.Status} body is not JSON: {bodyError}" : null;
    }

    static string? ProblemVerdict(Reply reply)
    {
        if (reply.MediaType != "application/problem+json")
            return $"{reply.Status} with Content-Type {reply.MediaType ?? "none"}, not application/problem+json";
        try
        {
            using var document = JsonDocument.Parse(reply.Body);
            var problem = document.RootElement;
            if (problem.ValueKind != JsonValueKind.Object) return $"{reply.Status} problem is not a JSON object";
            string? Text(string name) => problem.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            var missing = new[] { "type", "title", "detail", "code" }.Where(n => string.IsNullOrWhiteSpace(Text(n))).ToArray();
            if (missing.Length > 0) return $"{reply.Status} problem without {string.Join(", ", missing)}";
            if (!problem.TryGetProperty("status", out var status) || !status.TryGetInt32(out var number) || number != reply.Status)
                return $"{reply.Status} problem whose status field is not {reply.Status}";
            if (Text("type") != ProblemTypeBase + Text("code")) return $"{reply.Status} problem whose type does not end in its code";
            return null;
        }
        catch (JsonException e)
        {
            return $"{reply.Status} problem is not JSON: {e.Message}";
        }
    }

    static string CodeOf(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            return document.RootElement.TryGetProperty("code", out var code) ? code.ToString() : "?";
        }
        catch (JsonException)
        {
            return "?";
        }
    }

    static string? JsonError(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
    }
}
