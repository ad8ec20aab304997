using System.Collections.Concurrent;
using System.Numerics;

namespace Autograd.Expressions;

/// <summary>
/// Parsed formulas by text, and pools of compiled formulas by text, element type and input shapes, so a
/// repeated request replays a recorded tape instead of parsing and recording again. Thread-safe; each
/// rented compiled formula is used by one caller at a time.
/// </summary>
/// <remarks>
/// Each of the two maps holds at most <c>capacity</c> entries (a moment's overshoot of one per concurrent miss aside).
/// Once a map is full, a formula gets a place only when it comes a second time (a doorkeeper remembers the hashes of
/// the last few thousand seen), so a stream of one-off formulas leaves nothing behind to outlive its request; and
/// adding an entry then evicts the oldest one not used since the eviction last passed over it (a second chance), so
/// the formulas in use stay. An evicted pool gives back what its copies were charged. A pool is made when a copy is
/// returned, not before.
/// </remarks>
/// <param name="memory">Where pooled copies are charged: a copy that does not fit is not pooled. None: no accounting.</param>
public sealed class FormulaCache(int capacity = 256, IRetainedMemory? memory = null)
{
    readonly SecondChanceMap<string, Formula> _parsed = new(capacity);
    readonly SecondChanceMap<PoolKey, Pool> _pools = new(capacity, pool => pool.Close(memory));
    readonly Doorkeeper _parsedSeen = new(capacity);
    readonly Doorkeeper _poolsSeen = new(capacity);
    long _hits;
    long _misses;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Formulas parsed and kept, at most the capacity.</summary>
    public int ParsedCount => _parsed.Count;

    /// <summary>Pools kept (one per formula text, element type and input shapes), at most the capacity.</summary>
    public int PoolCount => _pools.Count;

    /// <exception cref="FormulaException">The text does not parse within <paramref name="limits"/>.</exception>
    public Formula Parse(string text, FormulaLimits limits) => Parse(text, limits, markUsed: true);

    // Rent looks the text up without marking it used: the service has parsed it moments before, for the same request.
    Formula Parse(string text, FormulaLimits limits, bool markUsed)
    {
        if (_parsed.TryGet(text, out var formula, markUsed)) return formula;
        formula = Formula.Parse(text, limits);
        return _parsed.IsFull && !_parsedSeen.SeenBefore(text.GetHashCode()) ? formula : _parsed.GetOrAdd(text, formula);
    }

    /// <summary>A compiled formula for these inputs, from the pool or newly recorded; give it back with <see cref="Return{T}"/>.</summary>
    public CompiledFormula<T> Rent<T>(string text, IReadOnlyList<InputSpec> inputs, FormulaLimits limits)
        where T : IFloatingPointIeee754<T> => Rent<T>(text, null, inputs, limits);

    /// <summary>
    /// As <see cref="Rent{T}(string, IReadOnlyList{InputSpec}, FormulaLimits)"/> for a formula the caller has parsed
    /// already (with <see cref="Parse(string, FormulaLimits)"/>), so that a miss records it without parsing it again.
    /// </summary>
    public CompiledFormula<T> Rent<T>(Formula formula, IReadOnlyList<InputSpec> inputs, FormulaLimits limits)
        where T : IFloatingPointIeee754<T> => Rent<T>(formula.Text, formula, inputs, limits);

    CompiledFormula<T> Rent<T>(string text, Formula? parsed, IReadOnlyList<InputSpec> inputs, FormulaLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        var key = new PoolKey(typeof(T), text, inputs);
        if (_pools.TryGet(key, out var pool) && pool.TryTake() is CompiledFormula<T> copy)
        {
            Interlocked.Increment(ref _hits);
            memory?.Release(copy.RetainedBytes);
            return copy;
        }
        Interlocked.Increment(ref _misses);
        var compiled = CompiledFormula<T>.Compile(parsed ?? Parse(text, limits, markUsed: false), inputs, limits.MaxTapeElements);
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
        compiled.Tape.ResetRowSweep();
        var key = compiled.CacheKey ?? new PoolKey(typeof(T), compiled.Formula.Text, compiled.Inputs);
        if (!_pools.TryGet(key, out var pool))
        {
            if (_pools.IsFull && !_poolsSeen.SeenBefore(key.GetHashCode())) return;
            pool = _pools.GetOrAdd(key, new Pool());
        }
        pool.TryPut(compiled, memory);
    }

    /// <summary>
    /// The hashes of keys seen lately, direct-mapped into a table of four slots per entry of the cache, so a newer key
    /// may push out an older one. A false "seen" (two keys with one hash) only admits a key a round early.
    /// </summary>
    sealed class Doorkeeper(int capacity)
    {
        readonly int[] _hashes = new int[(int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, 4 * capacity))];

        /// <summary>Whether <paramref name="hash"/> was seen since its slot last changed; remembers it.</summary>
        public bool SeenBefore(int hash)
        {
            ref var slot = ref _hashes[hash & (_hashes.Length - 1)];
            hash |= 1 << 31;  // 0 marks an empty slot; the slot's index holds the low bits.
            if (Volatile.Read(ref slot) == hash) return true;
            Volatile.Write(ref slot, hash);
            return false;
        }
    }

    /// <summary>
    /// At most <see cref="MaxPooledPerKey"/> copies in fixed slots, each taken and put with one atomic exchange. Once
    /// closed (evicted) it keeps nothing: a copy put in a race with the closing is taken out again and released.
    /// </summary>
    sealed class Pool
    {
        readonly object?[] _slots = new object?[MaxPooledPerKey];
        int _closed;

        public object? TryTake()
        {
            for (var i = 0; i < _slots.Length; i++)
                if (Volatile.Read(ref _slots[i]) is not null && Interlocked.Exchange(ref _slots[i], null) is { } copy)
                    return copy;
            return null;
        }

        public void TryPut(IRetainedBytes copy, IRetainedMemory? memory)
        {
            if (Volatile.Read(ref _closed) != 0 || memory?.TryReserve(copy.RetainedBytes) == false) return;
            for (var i = 0; i < _slots.Length; i++)
            {
                if (Volatile.Read(ref _slots[i]) is not null || Interlocked.CompareExchange(ref _slots[i], copy, null) is not null) continue;
                // Both the put above and Close's flag are full fences: either Close sees this copy or this sees the flag.
                if (Volatile.Read(ref _closed) != 0 && Interlocked.Exchange(ref _slots[i], null) is IRetainedBytes late)
                    memory?.Release(late.RetainedBytes);
                return;
            }
            memory?.Release(copy.RetainedBytes);
        }

        /// <summary>Empties the pool for good, giving back what its copies were charged.</summary>
        public void Close(IRetainedMemory? memory)
        {
            Interlocked.Exchange(ref _closed, 1);
            for (var i = 0; i < _slots.Length; i++)
                if (Interlocked.Exchange(ref _slots[i], null) is IRetainedBytes copy)
                    memory?.Release(copy.RetainedBytes);
        }
    }
}

/// <summary>
/// A concurrent map of at most a given number of entries (briefly one more per concurrent add). Adding past that
/// evicts the oldest entry not read since the eviction last passed over it: a read entry goes to the back once more
/// with its mark cleared (the clock algorithm, an approximation of least recently used).
/// </summary>
internal sealed class SecondChanceMap<TKey, TValue>(int capacity, Action<TValue>? evicted = null)
    where TKey : notnull where TValue : class
{
    sealed class Entry(TKey key, TValue value)
    {
        public readonly TKey Key = key;
        public readonly TValue Value = value;
        public volatile bool Used;
    }

    readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    // Entries in the order the eviction visits them; holds exactly the entries of the map once adds have finished.
    readonly ConcurrentQueue<Entry> _clock = new();
    readonly int _capacity = Math.Max(1, capacity);
    int _count;

    // Kept by hand: ConcurrentDictionary.Count takes every one of its locks, up to 1,024 of them once it has grown.
    public int Count => Volatile.Read(ref _count);

    public bool IsFull => Count >= _capacity;

    /// <param name="markUsed">Whether this read counts as a use that earns the entry a second chance.</param>
    public bool TryGet(TKey key, out TValue value, bool markUsed = true)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (markUsed && !entry.Used) entry.Used = true;
            value = entry.Value;
            return true;
        }
        value = null!;
        return false;
    }

    /// <summary>The value under <paramref name="key"/>: <paramref name="value"/> if the key was not there, else the one already there.</summary>
    public TValue GetOrAdd(TKey key, TValue value)
    {
        var added = new Entry(key, value);
        var entry = _entries.GetOrAdd(key, added);
        if (entry != added)
        {
            entry.Used = true;
            return entry.Value;
        }
        _clock.Enqueue(added);
        if (Interlocked.Increment(ref _count) > _capacity) EvictOne();
        return value;
    }

    void EvictOne()
    {
        // Each pass over a used entry clears its mark, so one round over the clock finds a victim unless other threads
        // keep reading every entry; after two rounds the oldest goes regardless.
        for (var visited = 0; _clock.TryDequeue(out var entry); visited++)
        {
            if (entry.Used && visited < 2 * _capacity)
            {
                entry.Used = false;
                _clock.Enqueue(entry);
                continue;
            }
            if (_entries.TryRemove(new KeyValuePair<TKey, Entry>(entry.Key, entry)))
            {
                Interlocked.Decrement(ref _count);
                evicted?.Invoke(entry.Value);
            }
            return;
        }
    }
}

/// <summary>A ledger of retained memory (the service's budget): pooled tapes are charged to it.</summary>
public interface IRetainedMemory
{
    bool TryReserve(long bytes);
    void Release(long bytes);
}

/// <summary>Something that knows the memory it holds.</summary>
public interface IRetainedBytes
{
    long RetainedBytes { get; }
}

/// <summary>What makes two compiled formulas interchangeable: element type, formula text, and each input's name, kind and shape.</summary>
internal sealed class PoolKey : IEquatable<PoolKey>
{
    readonly Type _type;
    readonly string _text;
    readonly InputSpec[] _inputs;
    readonly int _hash;

    public PoolKey(Type type, string text, IReadOnlyList<InputSpec> inputs)
    {
        _type = type;
        _text = text;
        _inputs = [.. inputs];
        var hash = new HashCode();
        hash.Add(type);
        hash.Add(text);
        foreach (var input in _inputs) hash.Add(input);
        _hash = hash.ToHashCode();
    }

    public bool Equals(PoolKey? other) =>
        other is not null && _hash == other._hash && _type == other._type && _text == other._text && _inputs.AsSpan().SequenceEqual(other._inputs);

    public override bool Equals(object? obj) => Equals(obj as PoolKey);
    public override int GetHashCode() => _hash;
}
