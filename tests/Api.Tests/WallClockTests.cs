using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>A time limit the client asks for is a stopping rule; the service's own cap is a failure to do what was asked.</summary>
public sealed class WallClockTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    [Fact]
    public async Task A_job_stopped_by_the_services_wall_clock_cap_has_failed_and_one_stopped_by_its_own_limit_succeeded()
    {
        using var timeout = Jobs.Timeout(60);
        await using var host = factory.WithSettings(("Minimize:MaxWallSeconds", "1"));
        var client = host.CreateClient();

        var capped = await Jobs.Start(client, Jobs.With(Jobs.Timed(30), ("timeLimitSeconds", null)), timeout.Token);
        var own = await Jobs.Start(client, Jobs.Timed(0.5), timeout.Token);
        var cappedEnd = (await Jobs.ReadAll(client, capped.Id, timeout.Token))[^1].Completed;
        var ownEnd = (await Jobs.ReadAll(client, own.Id, timeout.Token))[^1].Completed;

        Assert.Equal(StopReasonCode.TimeLimit, cappedEnd.StopReason);
        Assert.Equal(JobStatus.Failed, cappedEnd.Status);
        Assert.Contains("Minimize:MaxWallSeconds", cappedEnd.Message);
        Assert.Equal(StopReasonCode.TimeLimit, ownEnd.StopReason);
        Assert.Equal(JobStatus.Succeeded, ownEnd.Status);
        Assert.Equal(JobStatus.Failed, (await Jobs.Get(client, capped.Id, timeout.Token)).Status);
    }
}
