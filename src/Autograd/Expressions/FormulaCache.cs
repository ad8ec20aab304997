using System.Collections.Concurrent;
using System.Numerics;
using System.Text;

namespace Autograd.Expressions;

/// <summary>
/// Parsed formulas by text, and pools of compiled formulas by text, element type and input shapes, so a
/// repeated request replays a recorded tape instead of parsing and recording again. Thread-safe; each
/// rented compiled formula is used by one caller at a time. Past its capacity the cache starts over.
/// </summary>
public sealed class FormulaCache(int capacity = 256)
{
    readonly ConcurrentDictionary<string, Formula> _parsed = new();
    readonly ConcurrentDictionary<string, ConcurrentQueue<object>> _compiled = new();
    long _hits;
    long _misses;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <exception cref="FormulaException">The text does not parse within <paramref name="limits"/>.</exception>
    public Formula Parse(string text, FormulaLimits limits)
    {
        if (_parsed.TryGetValue(text, out var formula)) return formula;
        formula = Formula.Parse(text, limits);
        if (_parsed.Count >= capacity) _parsed.Clear();
        _parsed[text] = formula;
        return formula;
    }

    /// <summary>A compiled formula for these inputs, from the pool or newly recorded; give it back with <see cref="Return{T}"/>.</summary>
    public CompiledFormula<T> Rent<T>(string text, IReadOnlyList<InputSpec> inputs, FormulaLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        var key = Key<T>(text, inputs);
        if (_compiled.TryGetValue(key, out var pool) && pool.TryDequeue(out var pooled))
        {
            Interlocked.Increment(ref _hits);
            return (CompiledFormula<T>)pooled;
        }
        Interlocked.Increment(ref _misses);
        var compiled = CompiledFormula<T>.Compile(Parse(text, limits), inputs, limits.MaxTapeElements);
        compiled.CacheKey = key;
        return compiled;
    }

    /// <summary>Formulas over more input elements than this are not pooled: recording them again is cheap next to their data.</summary>
    public const long MaxPooledInputElements = 100_000;

    /// <summary>Copies of one formula kept: enough for every concurrent request a small server sees.</summary>
    public const int MaxPooledPerKey = 16;

    public void Return<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        if (compiled.HasBoundInputs || compiled.InputElements > MaxPooledInputElements) return;
        if (_compiled.Count >= capacity) _compiled.Clear();
        var key = compiled.CacheKey ?? Key<T>(compiled.Formula.Text, compiled.Inputs);
        var pool = _compiled.GetOrAdd(key, _ => new ConcurrentQueue<object>());
        if (pool.Count < MaxPooledPerKey) pool.Enqueue(compiled);
    }

    static string Key<T>(string text, IReadOnlyList<InputSpec> inputs)
    {
        var key = new StringBuilder(typeof(T).Name).Append('\n');
        foreach (var input in inputs)
            key.Append(input.Name).Append(':').Append((int)input.Kind).Append(':')
               .Append(input.IsScalar ? "s" : input.Length.ToString()).Append(';');
        return key.Append('\n').Append(text).ToString();
    }
}
