using Autograd.Expressions;

namespace Autograd.Tests.Expressions;

/// <summary>The formula cache's bounds, eviction, memory accounting and results, on its own (the service's use is in Api.Tests).</summary>
public class FormulaCacheTests
{
    static readonly InputSpec[] Scalars = [InputSpec.Scalar("x", InputKind.Parameter), InputSpec.Scalar("y", InputKind.Parameter)];

    /// <summary>A thread-safe ledger that can be told to refuse every reservation.</summary>
    sealed class Ledger(long limit = long.MaxValue) : IRetainedMemory
    {
        long _used;
        public volatile bool Refuse;
        public long Used => Interlocked.Read(ref _used);

        public bool TryReserve(long bytes)
        {
            if (Refuse) return false;
            if (Interlocked.Add(ref _used, bytes) <= limit) return true;
            Interlocked.Add(ref _used, -bytes);
            return false;
        }

        public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
    }

    static void Use(FormulaCache cache, string text)
    {
        var compiled = cache.Rent<double>(text, Scalars, FormulaLimits.Default);
        compiled.SetInput(0, [0.5]);
        compiled.SetInput(1, [-1.5]);
        compiled.EvaluateWithGradientFused();
        cache.Return(compiled);
    }

    /// <summary>A formula that comes twice: once the cache is full, the second time earns it a place.</summary>
    static void UseTwice(FormulaCache cache, string text)
    {
        Use(cache, text);
        Use(cache, text);
    }

    [Fact]
    public void A_stream_of_one_off_formulas_keeps_at_most_capacity_formulas_and_pools()
    {
        var cache = new FormulaCache(capacity: 8);
        for (var i = 0; i < 100; i++)
        {
            Use(cache, $"x^2 + y - {i}");
            Assert.InRange(cache.ParsedCount, 1, 8);
            Assert.InRange(cache.PoolCount, 1, 8);
        }
        Assert.Equal(8, cache.ParsedCount);
        Assert.Equal(8, cache.PoolCount);
        Assert.Equal(100, cache.Misses);
        Assert.Equal(0, cache.Hits);
        // Coming once each, none of the later ones took the place of the first eight.
        Use(cache, "x^2 + y - 0");
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public void Once_full_a_formula_gets_a_place_when_it_comes_a_second_time()
    {
        var cache = new FormulaCache(capacity: 4);
        for (var i = 0; i < 4; i++) Use(cache, $"x^2 + y - {i}");
        var first = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
        cache.Return(first);
        var second = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
        Assert.NotSame(first, second);
        cache.Return(second);
        Assert.Same(second, cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default));
        Assert.Equal(4, cache.PoolCount);
        Assert.Equal((6L, 1L), (cache.Misses, cache.Hits));
    }

    [Fact]
    public void A_formula_parsed_by_the_caller_is_recorded_as_it_is_not_parsed_again()
    {
        var cache = new FormulaCache(capacity: 2);
        cache.Parse("x + 1", FormulaLimits.Default);
        cache.Parse("x + 2", FormulaLimits.Default);
        var parsed = cache.Parse("x*y", FormulaLimits.Default);
        Assert.Equal(2, cache.ParsedCount);
        Assert.NotSame(parsed, cache.Parse("x*y + 0", FormulaLimits.Default));
        var compiled = cache.Rent<double>(parsed, Scalars, FormulaLimits.Default);
        Assert.Same(parsed, compiled.Formula);
        compiled.SetInput(0, [3.0]);
        compiled.SetInput(1, [-2.0]);
        Assert.Equal(-6.0, compiled.EvaluateWithGradientFused());
        Assert.Equal((-2.0, 3.0), (compiled.GradientOf(0)[0], compiled.GradientOf(1)[0]));
    }

    [Fact]
    public void A_formula_in_use_stays_pooled_while_one_off_formulas_stream_through()
    {
        var cache = new FormulaCache(capacity: 8);
        var hot = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
        cache.Return(hot);
        for (var i = 0; i < 100; i++)
        {
            UseTwice(cache, $"x^2 + y - {i}");
            var again = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
            Assert.Same(hot, again);
            cache.Return(again);
        }
        // The hot one never missed again. Of the newcomers the first seven found room at once (then hit), the others
        // missed twice: their second coming admitted them, each evicting an earlier newcomer, never the hot one.
        Assert.Equal(1 + 7 + 2 * 93, cache.Misses);
        Assert.Equal(100 + 7, cache.Hits);
    }

    [Fact]
    public void A_formula_not_used_again_is_evicted_once_capacity_newer_ones_came_after_it()
    {
        var cache = new FormulaCache(capacity: 4);
        var once = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
        cache.Return(once);
        for (var i = 0; i < 3; i++) Use(cache, $"x^2 + y - {i}");
        Assert.Same(once, cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default));
        cache.Return(once);

        // Used once more above, it was given a second chance; not used again, it goes within two rounds of newcomers.
        for (var i = 3; i < 11; i++) UseTwice(cache, $"x^2 + y - {i}");
        Assert.NotSame(once, cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default));
    }

    [Fact]
    public void A_pool_keeps_at_most_MaxPooledPerKey_copies_and_charges_only_those()
    {
        var ledger = new Ledger();
        var cache = new FormulaCache(capacity: 8, ledger);
        var copies = Enumerable.Range(0, FormulaCache.MaxPooledPerKey + 4)
            .Select(_ => cache.Rent<double>("sin(x) * y", Scalars, FormulaLimits.Default)).ToList();
        Assert.Equal(copies.Count, copies.Distinct().Count());
        foreach (var copy in copies) cache.Return(copy);
        var bytes = copies[0].RetainedBytes;
        Assert.True(bytes > 0);
        Assert.Equal(FormulaCache.MaxPooledPerKey * bytes, ledger.Used);

        var rented = Enumerable.Range(0, FormulaCache.MaxPooledPerKey + 1)
            .Select(_ => cache.Rent<double>("sin(x) * y", Scalars, FormulaLimits.Default)).ToList();
        Assert.Equal(copies.Take(FormulaCache.MaxPooledPerKey), rented.Take(FormulaCache.MaxPooledPerKey));
        Assert.DoesNotContain(rented[^1], copies);
        Assert.Equal(0, ledger.Used);
    }

    [Fact]
    public void An_evicted_pool_gives_back_what_its_copies_were_charged()
    {
        var ledger = new Ledger();
        var cache = new FormulaCache(capacity: 4, ledger);
        var copy = cache.Rent<double>("x*y + 1", Scalars, FormulaLimits.Default);
        cache.Return(copy);
        Assert.Equal(copy.RetainedBytes, ledger.Used);
        for (var i = 0; i < 4; i++) UseTwice(cache, $"x*y + {i + 2}");
        // Four pools of one copy each, all of the same size; the first one's is released.
        Assert.Equal(4, cache.PoolCount);
        Assert.Equal(4 * copy.RetainedBytes, ledger.Used);
        ledger.Refuse = true;
        for (var i = 0; i < 8; i++) UseTwice(cache, $"x + y + {i}");
        Assert.Equal(0, ledger.Used);
    }

    [Fact]
    public async Task Under_concurrent_renting_returning_and_eviction_the_charges_add_up_to_what_is_pooled()
    {
        var ledger = new Ledger();
        var cache = new FormulaCache(capacity: 6, ledger);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 3000; i++)
            {
                var text = $"x*y - {random.Next(12)}";
                var held = Enumerable.Range(0, random.Next(1, 4)).Select(_ => cache.Rent<double>(text, Scalars, FormulaLimits.Default)).ToList();
                foreach (var compiled in held) cache.Return(compiled);
            }
        })));
        Assert.InRange(cache.PoolCount, 1, 6);
        Assert.True(ledger.Used > 0);
        // Nothing else is charged: once every pool has been evicted, the ledger is back at zero.
        ledger.Refuse = true;
        for (var i = 0; i < 4 * 6; i++) UseTwice(cache, $"x + y + {i}");
        Assert.Equal(0, ledger.Used);
    }

    [Theory]
    [InlineData("sin(3*x) * exp(y) + x^2 / (1 + y^2)")]
    [InlineData("log(1 + x^2) - tanh(x*y) + sqrt(2 + y^2)")]
    public void A_fresh_tape_a_miss_a_hit_and_a_copy_recorded_after_eviction_give_the_same_bits(string text)
    {
        static (long Value, long Dx, long Dy) Bits(CompiledFormula<double> compiled)
        {
            compiled.SetInput(0, [0.3]);
            compiled.SetInput(1, [-0.7]);
            var value = compiled.EvaluateWithGradientFused();
            return (BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(compiled.GradientOf(0)[0]),
                BitConverter.DoubleToInt64Bits(compiled.GradientOf(1)[0]));
        }
        var fresh = Bits(CompiledFormula<double>.Compile(Formula.Parse(text), Scalars));
        var cache = new FormulaCache(capacity: 2);
        var miss = cache.Rent<double>(text, Scalars, FormulaLimits.Default);
        var results = new List<(long, long, long)> { Bits(miss) };
        cache.Return(miss);
        var hit = cache.Rent<double>(text, Scalars, FormulaLimits.Default);
        Assert.Same(miss, hit);
        results.Add(Bits(hit));
        cache.Return(hit);
        for (var i = 0; i < 6; i++) UseTwice(cache, $"x - y + {i}");
        var recorded = cache.Rent<double>(text, Scalars, FormulaLimits.Default);
        Assert.NotSame(miss, recorded);
        results.Add(Bits(recorded));
        Assert.All(results, bits => Assert.Equal(fresh, bits));

        // And they are the derivative: checked against the closed form at (0.3, -0.7).
        double x = 0.3, y = -0.7;
        var (dx, dy) = text.StartsWith("sin")
            ? (3 * Math.Cos(3 * x) * Math.Exp(y) + 2 * x / (1 + y * y), Math.Sin(3 * x) * Math.Exp(y) - x * x * 2 * y / Math.Pow(1 + y * y, 2))
            : (2 * x / (1 + x * x) - y * (1 - Math.Pow(Math.Tanh(x * y), 2)), -x * (1 - Math.Pow(Math.Tanh(x * y), 2)) + y / Math.Sqrt(2 + y * y));
        Assert.Equal(dx, BitConverter.Int64BitsToDouble(fresh.Dx), 1e-12);
        Assert.Equal(dy, BitConverter.Int64BitsToDouble(fresh.Dy), 1e-12);
    }
}
