namespace Autograd.Api.Datasets;

/// <summary>Limits on stored datasets; configured under <c>Datasets</c>, documented in the README.</summary>
public sealed class DatasetOptions
{
    public const string Section = "Datasets";

    /// <summary>Bytes in one upload (JSON or CSV).</summary>
    public long MaxUploadBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Rows in one dataset.</summary>
    public int MaxRows { get; set; } = 2_000_000;

    /// <summary>Columns in one dataset.</summary>
    public int MaxColumns { get; set; } = 100;

    /// <summary>Datasets kept; past it, an upload answers 413 until one is deleted.</summary>
    public int MaxDatasets { get; set; } = 100;

    /// <summary>Uploads read at once; past it, POST /datasets answers 429.</summary>
    public int MaxConcurrentUploads { get; set; } = 2;

    /// <summary>Memory all stored columns may take together, in bytes.</summary>
    public long MaxTotalBytes { get; set; } = 1024L * 1024 * 1024;
}
