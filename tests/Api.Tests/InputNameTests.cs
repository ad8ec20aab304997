using System.Text.RegularExpressions;
using Autograd.Api.Infrastructure;

namespace Autograd.Api.Tests;

/// <summary>The names a formula can refer to: ASCII letters, digits and '_', not starting with a digit.</summary>
public sealed class InputNameTests
{
    // The rule as a regular expression (\z, not $: "$" also matches before a final newline), to check the scan against.
    static readonly Regex Rule = new(@"^[A-Za-z_][A-Za-z0-9_]*\z");

    [Theory]
    [InlineData("x")]
    [InlineData("_")]
    [InlineData("x1")]
    [InlineData("W_2b")]
    [InlineData("")]
    [InlineData("1x")]
    [InlineData("x\n")]
    [InlineData("x y")]
    [InlineData("x-1")]
    [InlineData("é")]
    [InlineData("x٣")]
    [InlineData("٣")]
    [InlineData("ｘ")]
    [InlineData("x\0")]
    public void A_name_is_valid_exactly_when_the_rule_matches(string name) =>
        Assert.Equal(Rule.IsMatch(name), InputBinding.IsValidName(name));

    [Fact]
    public void Every_short_string_over_a_mixed_alphabet_is_judged_as_the_rule_judges_it()
    {
        const string alphabet = "aZ_09\n -é٣";
        var checkedNames = 0;
        foreach (var a in alphabet)
        foreach (var b in alphabet)
        foreach (var c in alphabet)
        {
            foreach (var name in new[] { $"{a}", $"{a}{b}", $"{a}{b}{c}" })
            {
                Assert.True(Rule.IsMatch(name) == InputBinding.IsValidName(name), $"'{Regex.Escape(name)}'");
                checkedNames++;
            }
        }
        Assert.Equal(3 * alphabet.Length * alphabet.Length * alphabet.Length, checkedNames);
    }
}
