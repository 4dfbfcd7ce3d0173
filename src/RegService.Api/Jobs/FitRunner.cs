using System.Diagnostics;
using Microsoft.Extensions.Options;
using RegService.Api.Fits;
using RegService.Api.Infrastructure;
using RegService.Api.Storage;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;

namespace RegService.Api.Jobs;

/// <summary>A fit that cannot finish, with a reason to show the client.</summary>
public sealed class FitFailedException(string title, string detail) : Exception(detail)
{
    public string Title { get; } = title;
}

/// <summary>Runs one claimed fit to its stored result. Replaced in tests to control timing.</summary>
public interface IFitRunner
{
    /// <summary>Runs <paramref name="job"/>, whose stored submission the caller has read once into <paramref name="submission"/>.</summary>
    Task<StoredResult> RunAsync(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct);
}

/// <summary>
/// Loads the data set and runs the stored resolved spec (with this replica's Jobs:ThreadsPerFit) on the
/// calling worker's thread-pool thread: the worker has nothing else to do meanwhile, so a second hop
/// through the pool would only add a wait behind the requests queued there. A row stored before specs
/// were stored holds the request alone: it is resolved now, as its submission did.
/// </summary>
public sealed class EngineFitRunner(IDatasetStore datasets, IOptions<JobsOptions> options) : IFitRunner
{
    public Task<StoredResult> RunAsync(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct)
    {
        try
        {
            return Task.FromResult(Run(job, submission, progress, ct));
        }
        catch (Exception ex)
        {
            return Task.FromException<StoredResult>(ex);
        }
    }

    private StoredResult Run(FitRecord job, StoredSubmission submission, IProgress<FitProgress> progress, CancellationToken ct)
    {
        int threads = options.Value.ThreadsPerFit;
        var spec = submission.Spec;
        // A stored spec names its columns: the run needs the data set's shape, not its column summaries.
        var dataset = datasets.Get(job.Tenant, job.DatasetId, withColumns: spec is null)
            ?? throw new FitFailedException("Data set not found", $"data set {job.DatasetId} no longer exists");
        if (spec is null)
        {
            (spec, var errors) = FitRequestMapper.Resolve(submission.Request, dataset, threads, c => datasets.ReadColumn(dataset, c));
            if (spec is null)
                throw new FitFailedException("Invalid fit", string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")));
        }
        // A path fit canceled (or timed out: the worker cancels the same token) after some lambdas returns them.
        spec = spec with { MaxThreads = threads, KeepPartial = true };
        ct.ThrowIfCancellationRequested();

        progress.Report(new FitProgress(0, "loading data set"));
        var load = Stopwatch.StartNew();
        DenseMatrix x;
        try
        {
            x = datasets.LoadMatrix(dataset);
        }
        catch (DatasetGoneException gone)
        {
            throw new FitFailedException("Data set not found", gone.Message);
        }
        double loadSeconds = load.Elapsed.TotalSeconds;
        ct.ThrowIfCancellationRequested();
        FitResult result;
        try
        {
            result = FitEngine.Fit(x, spec, progress, ct);
        }
        catch (ArgumentException ex)
        {
            // The engine rejects specs it cannot fit (the submission has had them checked on the same data set).
            throw new FitFailedException("Fit not supported", ex.Message);
        }
        return ResultMapper.ToStored(spec, result, loadSeconds);
    }
}
