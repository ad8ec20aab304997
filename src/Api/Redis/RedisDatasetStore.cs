using System.Runtime.InteropServices;
using System.Text.Json;
using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// Datasets in Redis, shared by every replica and kept across restarts: one hash per dataset with its owner, column
/// names, creation time, size, summary (what a listing reads) and each column as little-endian float64 bytes; a sorted
/// set per owner lists them. Columns live in Redis, not in this process: the memory budget charged while reading an
/// upload is released once it is stored. The count and byte limits are checked against totals kept in Redis (not atomically with the write).
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
            new("bytes", dataset.Bytes),
            // As Find reads it back: the creation time to the millisecond.
            new("info", JsonSerializer.Serialize(dataset.ToInfo() with { CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(dataset.CreatedAt.ToUnixTimeMilliseconds()) }, InfoJson)),
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

    static readonly RedisValue[] InfoFields = ["created", "owner", "info"];
    static readonly JsonSerializerOptions InfoJson = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Reads each dataset's stored summary, not its columns (one round trip for all of them); a dataset stored before
    /// summaries were kept is read whole once and summarised.
    /// </summary>
    public async ValueTask<IReadOnlyList<DatasetInfo>> ListAsync(string? owner)
    {
        var database = redis.Database;
        var ids = await database.SortedSetRangeByRankAsync(IndexKey(owner), order: Order.Descending);
        var reads = ids.Select(id => database.HashGetAsync(Key(id.ToString()), InfoFields)).ToArray();
        var infos = new List<DatasetInfo>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            var fields = await reads[i];
            if (fields[0].IsNull || (fields[1].IsNull ? null : fields[1].ToString()) != owner) continue;
            if (!fields[2].IsNull) infos.Add(JsonSerializer.Deserialize<DatasetInfo>(fields[2].ToString(), InfoJson)!);
            else if (await FindAsync(ids[i].ToString(), owner) is { } dataset) infos.Add(dataset.ToInfo());
        }
        return infos;
    }

    public bool Delete(string id, string? owner)
    {
        var stored = redis.Database.HashGet(Key(id), ["created", "owner", "bytes"]);
        if (stored[0].IsNull || (stored[1].IsNull ? null : stored[1].ToString()) != owner) return false;
        long bytes;
        if (!stored[2].IsNull) bytes = (long)stored[2];
        else if (Find(id, owner) is { } dataset) bytes = dataset.Bytes;
        else return false;
        var transaction = redis.Database.CreateTransaction();
        transaction.AddCondition(Condition.KeyExists(Key(id)));
        _ = transaction.KeyDeleteAsync(Key(id));
        _ = transaction.SortedSetRemoveAsync(IndexKey(owner), id);
        _ = transaction.SortedSetRemoveAsync(All, id);
        _ = transaction.StringDecrementAsync(TotalBytes, bytes);
        return transaction.Execute();
    }
}
