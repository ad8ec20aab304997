using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>The README's language section lists every function of the registry and every form of the language.</summary>
public class ReadmeTests
{
    static string LanguageSection()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Autograd.Service.sln"))) directory = directory.Parent;
        Assert.NotNull(directory);
        var readme = File.ReadAllText(Path.Combine(directory.FullName, "README.md"));
        var start = readme.IndexOf("## The formula language", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return readme[start..end];
    }

    [Fact]
    public void EveryFunctionIsInTheReadmesTable()
    {
        var section = LanguageSection();
        var missing = Functions.Names.Where(name =>
            !System.Text.RegularExpressions.Regex.IsMatch(section, $@"`[^`\n]*\b{name}\b[^`\n]*`")).ToList();
        Assert.True(missing.Count == 0, $"README's formula language section does not list: {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("r = y - (b0 + b1*x); mean(r^2)")]
    [InlineData("r <- y - b0")]
    [InlineData("x[2:end]")]
    [InlineData("x[1:end-1]")]
    public void EveryNewFormHasAnExample(string example) => Assert.Contains($"`{example}`", LanguageSection());
}
