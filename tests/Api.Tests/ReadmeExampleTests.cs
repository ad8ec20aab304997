using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Autograd.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit.Abstractions;

namespace Autograd.Api.Tests;

/// <summary>
/// The README's shell examples, unchanged, against the replicated setup: two API hosts (<c>Service:Role=api</c>) and two
/// workers on one real Redis. Every <c>curl</c> to <c>localhost:5080</c> or <c>:5081</c> in a <c>sh</c> block runs, in
/// order, on the two API hosts in turn (so a job posted to one is waited for, streamed and listed on the other), with the
/// files the block's <c>python3</c> lines write; an id the README shows (or <c>&lt;id&gt;</c>) stands for the dataset or
/// job created last when it first appears. Every answer is 2xx, every job ends succeeded, every event stream ends with
/// its completed event, and an answer the README shows in full (a <c># {...}</c> line without "...") is that JSON.
/// </summary>
public sealed class ReadmeExampleTests(RedisServer redis, ITestOutputHelper output) : IClassFixture<RedisServer>
{
    WebApplicationFactory<Program> Host(string role) =>
        new AutogradApiFactory().WithSettings(("Store:Redis", redis.ConnectionString), ("Service:Role", role), ("Service:PollSeconds", "0.05"));

    /// <param name="Status">The job status the README says the example ends with; null: succeeded.</param>
    sealed record Curl(string Url, bool Stream, List<(string Name, string Value)> Headers, string? Body, string? DataFile, string? Shown,
        string? Status);

    [Fact]
    public async Task EveryCurlExampleOfTheReadmeWorksOnTwoApiReplicasAndTwoWorkers()
    {
        using var timeout = Jobs.Timeout(300);
        using var a = Host("api");
        using var b = Host("api");
        using var worker1 = Host("worker");
        using var worker2 = Host("worker");
        _ = worker1.Services;
        _ = worker2.Services;
        HttpClient[] clients = [a.CreateClient(), b.CreateClient()];
        var files = Directory.CreateTempSubdirectory("autograd-readme-").FullName;
        try
        {
            var (ran, compared) = (0, 0);
            var ids = new Dictionary<string, string>();
            var jobs = new List<(string Id, string Status)>();
            string? lastDataset = null, lastJob = null;
            foreach (var block in Blocks(ReadReadme()))
            foreach (var command in Commands(block))
            {
                if (command.Words[0] == "python3" && command.Words.Contains(">"))
                {
                    var output = command.Words[command.Words.IndexOf(">") + 1];
                    File.WriteAllText(Path.Combine(files, output), Python(command.Words[command.Words.IndexOf("-c") + 1]));
                    continue;
                }
                if (command.Words[0] != "curl" || ParseCurl(command) is not { } curl) continue;

                string Resolve(Match m)
                {
                    var dataset = m.Groups["datasets"].Success || m.Groups["field"].Success;
                    if (m.Value.Length == 32 && ids.TryGetValue(m.Value, out var known)) return known;
                    var real = (dataset ? lastDataset : lastJob) ?? throw new InvalidOperationException($"'{m.Value}' before any {(dataset ? "dataset" : "job")} in: {curl.Url}");
                    if (m.Value.Length == 32) ids[m.Value] = real;
                    return real;
                }
                var idPattern = new Regex("""(?<=(?<datasets>/datasets/)|(?<field>"dataset": ")|/minimize/)([0-9a-f]{32}|<id>|\{id\})""");
                var url = idPattern.Replace(curl.Url, Resolve);
                var body = curl.Body is null ? null : idPattern.Replace(curl.Body, Resolve);
                var client = clients[ran++ % 2];
                var path = url[url.IndexOf('/', url.IndexOf("localhost:", StringComparison.Ordinal))..];

                if (curl.Stream)
                {
                    var jobId = Regex.Match(path, "^/minimize/([0-9a-f]{32})/events$").Groups[1].Value;
                    var events = await Jobs.ReadAll(client, jobId, timeout.Token);
                    var completed = events[^1].Completed;
                    Assert.True(completed.Status == JobStatus.Succeeded, $"{path}: {completed.Status} ({completed.StopReason}): {completed.Message}");
                    continue;
                }
                using var request = new HttpRequestMessage(body is null && curl.DataFile is null ? HttpMethod.Get : HttpMethod.Post, path);
                HttpContent? content = curl.DataFile is { } file ? new ByteArrayContent(File.ReadAllBytes(Path.Combine(files, file)))
                    : body is not null ? new StringContent(body, Encoding.UTF8) : null;
                foreach (var (name, value) in curl.Headers)
                {
                    if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                        content!.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(value);
                    else request.Headers.TryAddWithoutValidation(name, value);
                }
                request.Content = content;
                using var response = await client.SendAsync(request, timeout.Token);
                var text = await response.Content.ReadAsStringAsync(timeout.Token);
                Assert.True(response.IsSuccessStatusCode, $"{request.Method} {path}: {(int)response.StatusCode} {text}");
                if (request.Method == HttpMethod.Post && path == "/datasets") lastDataset = JsonNode.Parse(text)!["id"]!.GetValue<string>();
                if (request.Method == HttpMethod.Post && path == "/minimize")
                    jobs.Add((lastJob = JsonNode.Parse(text)!["id"]!.GetValue<string>(), curl.Status ?? "succeeded"));
                if (curl.Shown is { } shown && ++compared > 0)
                    Assert.True(JsonNode.DeepEquals(JsonNode.Parse(shown), JsonNode.Parse(text)), $"{path}: README shows {shown}, the service answered {text}");
            }

            output.WriteLine($"{ran} curl examples ran, {compared} answers compared with the README's in full, {jobs.Count} jobs");
            Assert.True(ran >= 15, $"only {ran} curl examples found in the README");
            // Every job the examples started ends as the README says (succeeded unless it shows otherwise), asked on both hosts.
            for (var i = 0; i < jobs.Count; i++)
            {
                var finished = await Jobs.WaitFor(clients[i % 2], jobs[i].Id, j => j.FinishedAt is not null, timeout.Token);
                Assert.True(JsonNamingPolicy.CamelCase.ConvertName(finished.Status.ToString()) == jobs[i].Status,
                    $"job {i + 1}: {finished.Status} ({finished.StopReason}), the README says {jobs[i].Status}: {finished.Message}");
                Assert.Equal(finished.FinishedAt, (await Jobs.Get(clients[(i + 1) % 2], jobs[i].Id, timeout.Token)).FinishedAt);
            }
            using var listing = await clients[1].GetAsync("/minimize", timeout.Token);
            var listed = JsonNode.Parse(await listing.Content.ReadAsStringAsync(timeout.Token))!.AsArray().Select(j => j!["id"]!.GetValue<string>()).ToHashSet();
            Assert.Superset(jobs.Select(j => j.Id).ToHashSet(), listed);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    static string ReadReadme()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Autograd.Service.sln"))) directory = directory.Parent;
        Assert.NotNull(directory);
        return File.ReadAllText(Path.Combine(directory.FullName, "README.md"));
    }

    static IEnumerable<string> Blocks(string readme) =>
        Regex.Matches(readme, "^```sh\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline).Select(m => m.Groups[1].Value);

    /// <summary>A command's words as a shell splits them, and the comment lines right after it, if any.</summary>
    sealed record Command(List<string> Words, string? NextComment);

    /// <summary>
    /// Splits a block as a shell would, for what the README uses: single and double quotes (a quoted newline stays in the
    /// word), a backslash before a newline, <c>#</c> comments, <c>&amp;</c> and <c>&gt;</c>.
    /// </summary>
    static List<Command> Commands(string block)
    {
        var commands = new List<Command>();
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        void EndWord()
        {
            if (inWord) words.Add(word.ToString());
            word.Clear();
            inWord = false;
        }
        void EndCommand(string? comment)
        {
            EndWord();
            if (words.Count > 0) commands.Add(new Command([.. words], comment));
            words.Clear();
        }
        for (var i = 0; i < block.Length; i++)
        {
            var c = block[i];
            if (c is '\'' or '"')
            {
                var end = block.IndexOf(c, i + 1);
                word.Append(block, i + 1, end - i - 1);
                inWord = true;
                i = end;
            }
            else if (c == '\\' && i + 1 < block.Length && block[i + 1] == '\n') i++;
            else if (c == '#' && !inWord)
            {
                var end = block.IndexOf('\n', i);
                end = end < 0 ? block.Length : end;
                var comment = block[(i + 1)..end].Trim();
                if (words.Count > 0) EndCommand(comment);
                else if (commands.Count > 0)
                    commands[^1] = commands[^1] with { NextComment = commands[^1].NextComment is { } before ? before + "\n" + comment : comment };
                i = end;
            }
            else if (c == '\n') EndCommand(null);
            else if (c is ' ' or '\t') EndWord();
            else if (c == '&') EndWord();
            else if (c == '>')
            {
                EndWord();
                words.Add(">");
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        EndCommand(null);
        return commands;
    }

    /// <summary>A curl to the README's local API address; null for one to another address, or with a placeholder body.</summary>
    static Curl? ParseCurl(Command command)
    {
        string? url = null, body = null, file = null;
        var headers = new List<(string, string)>();
        var stream = false;
        var words = command.Words;
        for (var i = 1; i < words.Count; i++)
        {
            switch (words[i])
            {
                case "-s" or "-i" or "-si": break;
                case "-N": stream = true; break;
                case "-H":
                    var header = words[++i];
                    headers.Add((header[..header.IndexOf(':')].Trim(), header[(header.IndexOf(':') + 1)..].Trim()));
                    break;
                case "-d": body = words[++i]; break;
                case "--data-binary": file = words[++i].TrimStart('@'); break;
                case var w when w.Contains("localhost:", StringComparison.Ordinal): url = w; break;
                default: return null;  // -o, and anything else the test does not know
            }
        }
        if (url is null || !Regex.IsMatch(url, "^localhost:508[01]/") || body is "..." || words.Any(w => w.Contains('$'))) return null;
        // The README's answer, when it shows the whole of it: one JSON object on the comment line that follows.
        var shown = command.NextComment is { } comment && comment.StartsWith('{') && !comment.Contains("...") && !comment.Contains('…')
            && !comment.Contains('\n') && !comment.Contains("(ids") ? comment : null;
        var status = command.NextComment is { } said && Regex.Match(said, "\"status\": \"(\\w+)\"") is { Success: true } m ? m.Groups[1].Value : null;
        return new Curl(url, stream, headers, body, file, shown, status);
    }

    static string Python(string code)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(code);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python3 -c '{code}' failed: {error}");
        return output;
    }
}
