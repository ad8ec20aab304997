using System.Runtime.InteropServices;
using System.Text.Json;
using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// Datasets in Redis, shared by every replica and kept across restarts: one hash per dataset with its owner, column
/// names, creation time and each column as little-endian float64 bytes; a sorted set per owner lists them. Columns
/// live in Redis, not in this process: the memory budget charged while reading an upload is released once it is
/// stored. The count and byte limits are checked against totals kept in Redis (not atomically with the write).
/// </summary>
public sealed class RedisDatasetStore(RedisConnection redis, IOptions<DatasetOptions> options, TimeProvider clock, MemoryBudget budget)
    : IDatasetStore
{
    static readonly RedisKey All = RedisConnection.Prefix + "datasets";
    static readonly RedisKey TotalBytes = RedisConnection.Prefix + "datasets:bytes";
    long _lastBytes;

    public static RedisKey Key(string id) => RedisConnection.Prefix + "dataset:" + id;

    static RedisKey IndexKey(string? owner) => RedisConnection.Prefix + "datasets:" + (owner is null ? "-" : "owner:" + owner);

    /// <summary>The total Redis reports; the last one seen while Redis is unreachable (metrics must not fail).</summary>
    public long Bytes
    {
        get
        {
            try
            {
                return _lastBytes = (long)redis.Database.StringGet(TotalBytes);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return _lastBytes;
            }
        }
    }

    public Dataset Add(string[] names, double[][] columns, string? owner)
    {
        var limits = options.Value;
        var dataset = new Dataset(JobIds.New(), names, columns, clock.GetUtcNow());
        var database = redis.Database;
        var count = database.SortedSetLength(All);
        if (count >= limits.MaxDatasets)
            throw Problems.TooLarge("too-many-datasets", "dataset",
                $"{count} datasets are stored, the limit; DELETE /datasets/{{id}} one you no longer need.");
        var stored = (long)database.StringGet(TotalBytes);
        if (stored + dataset.Bytes > limits.MaxTotalBytes)
            throw Problems.TooLarge("dataset-store-full", "dataset",
                $"Storing {dataset.Bytes:N0} more bytes would exceed the {limits.MaxTotalBytes:N0} bytes all datasets may take; {stored:N0} are in use.");
        var fields = new List<HashEntry>
        {
            new("owner", owner is null ? RedisValue.Null : (RedisValue)owner),
            new("names", JsonSerializer.Serialize(names)),
            new("created", dataset.CreatedAt.ToUnixTimeMilliseconds()),
        };
        for (var c = 0; c < columns.Length; c++) fields.Add(new HashEntry("c" + c, MemoryMarshal.AsBytes(columns[c].AsSpan()).ToArray()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Dataset columns are stored as little-endian float64.");
        var transaction = database.CreateTransaction();
        _ = transaction.HashSetAsync(Key(dataset.Id), [.. fields.Where(f => !f.Value.IsNull)]);
        _ = transaction.SortedSetAddAsync(IndexKey(owner), dataset.Id, dataset.CreatedAt.ToUnixTimeMilliseconds());
        _ = transaction.SortedSetAddAsync(All, dataset.Id, dataset.CreatedAt.ToUnixTimeMilliseconds());
        _ = transaction.StringIncrementAsync(TotalBytes, dataset.Bytes);
        transaction.Execute();
        // The columns now live in Redis; this process keeps none of them.
        budget.Release(dataset.Bytes);
        return dataset;
    }

    public Dataset? Find(string id, string? owner) => Read(id, owner, redis.Database.HashGetAll(Key(id)));

    public async ValueTask<Dataset?> FindAsync(string id, string? owner) => Read(id, owner, await redis.Database.HashGetAllAsync(Key(id)));

    static Dataset? Read(string id, string? owner, HashEntry[] fields)
    {
        if (fields.Length == 0) return null;
        var values = fields.ToDictionary(f => f.Name.ToString(), f => f.Value);
        string? storedOwner = values.TryGetValue("owner", out var o) ? o.ToString() : null;
        if (storedOwner != owner) return null;
        var names = JsonSerializer.Deserialize<string[]>(values["names"].ToString()) ?? [];
        var columns = new double[names.Length][];
        for (var c = 0; c < names.Length; c++)
            columns[c] = MemoryMarshal.Cast<byte, double>(((byte[])values["c" + c]!).AsSpan()).ToArray();
        return new Dataset(id, names, columns, DateTimeOffset.FromUnixTimeMilliseconds((long)values["created"]));
    }

    public IReadOnlyList<Dataset> List(string? owner) => ListAsync(owner).AsTask().GetAwaiter().GetResult();

    public async ValueTask<IReadOnlyList<Dataset>> ListAsync(string? owner)
    {
        var ids = await redis.Database.SortedSetRangeByRankAsync(IndexKey(owner), order: Order.Descending);
        var datasets = new List<Dataset>(ids.Length);
        foreach (var id in ids)
            if (await FindAsync(id.ToString(), owner) is { } dataset) datasets.Add(dataset);
        return datasets;
    }

    public bool Delete(string id, string? owner)
    {
        if (Find(id, owner) is not { } dataset) return false;
        var transaction = redis.Database.CreateTransaction();
        transaction.AddCondition(Condition.KeyExists(Key(id)));
        _ = transaction.KeyDeleteAsync(Key(id));
        _ = transaction.SortedSetRemoveAsync(IndexKey(owner), id);
        _ = transaction.SortedSetRemoveAsync(All, id);
        _ = transaction.StringDecrementAsync(TotalBytes, dataset.Bytes);
        return transaction.Execute();
    }
}
