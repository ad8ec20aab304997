namespace Autograd.Playground.Tests;

/// <summary>A test that needs Debian's Chromium; without it the test reports itself skipped and says why.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
            Skip = $"Chromium is not installed at {ChromiumPath} (apt-get install -y chromium); .ci/run installs it.";
    }
}
