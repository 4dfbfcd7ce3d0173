using System.ComponentModel;
using RegService.Api.Datasets;
using RegService.Api.Fits;
using RegService.Numerics.Data;
using RegService.Numerics.Fitting;
using RegService.Numerics.Metrics;

namespace RegService.Api.Plots;

/// <summary>The plots a fit can draw.</summary>
public sealed record PlotList(
    string FitId,
    [property: Description("The kinds this fit can draw, in the order path, validation, learning, fitted, complexity; each is GET /v1/fits/{id}/plots/{kind}.svg")]
    IReadOnlyList<string> Kinds);

/// <summary>/v1/fits/{id}/plots: a finished fit's plots as SVG, drawn by the service.</summary>
public static class PlotsApi
{
    public const string SvgMediaType = "image/svg+xml";

    public static RouteGroupBuilder MapPlots(this RouteGroupBuilder group)
    {
        group.MapGet("/{id}/plots", List).WithName("ListFitPlots")
            .WithSummary("The kinds of plot a succeeded fit can draw (path, validation, learning, fitted, complexity)")
            .WithDescription("""
                path needs a coefficient path (two or more positive lambdas; not an MLP), validation and complexity a validation
                curve (a path with kfold or holdout validation), learning a learning curve (sgd, adam, adamW or an MLP), fitted
                the fit's data set (gone once the data set is deleted). 404 for an unknown fit, 409 for one that has not succeeded.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AllowQuery();
        group.MapGet("/{id}/plots/{kind}.svg", Get).WithName("GetFitPlot")
            .WithSummary("A plot of a succeeded fit as SVG (800 x 500 view box)")
            .WithDescription("""
                path: coefficients against lambda (log axis), one line per feature nonzero somewhere on the path, the nonzero count
                along the top, the returned lambda marked (glmnet's plot(fit)). validation: mean validation loss ± one standard
                error per lambda, lambda.min and lambda.1se marked (plot(cv.glmnet)). learning: training and early-stopping loss
                per epoch, the kept epoch marked. fitted: predicted against actual on the fit's data set (gaussian; poisson: the
                predicted mean count, with the fit's offset column) or the ROC curve with its AUC (binomial). complexity: training and validation error against lambda, the penalty weakening to
                the right. 404 (with "available", the kinds the fit can draw) for a kind it cannot draw or an unknown kind;
                409 for a fit that has not succeeded.
                """)
            .Produces<string>(StatusCodes.Status200OK, SvgMediaType)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .AllowQuery();
        return group;
    }

    public static Results<Ok<PlotList>, ProblemHttpResult> List(string id, ClaimsPrincipal user, IFitStore fits, IDatasetStore datasets,
        JsonSerializerOptionsProvider json)
    {
        var tenant = user.Tenant();
        var (record, result, problem) = Succeeded(tenant, id, fits, json);
        if (problem is not null) return problem;
        return TypedResults.Ok(new PlotList(id, FitPlots.Available(result!, datasets.Get(tenant, record!.DatasetId) is not null)));
    }

    public static Results<ContentHttpResult, ProblemHttpResult> Get(string id,
        [Description("path, validation, learning, fitted or complexity")] string kind,
        ClaimsPrincipal user, IFitStore fits, IDatasetStore datasets, JsonSerializerOptionsProvider json)
    {
        var tenant = user.Tenant();
        var (record, result, problem) = Succeeded(tenant, id, fits, json);
        if (problem is not null) return problem;
        var dataset = datasets.Get(tenant, record!.DatasetId);
        if (FitPlots.Unavailable(kind, result!, dataset is not null) is { } why)
            return NotAvailable(id, kind, why, FitPlots.Available(result!, dataset is not null));

        Chart chart;
        if (kind == "fitted")
        {
            var request = StoredSubmission.ReadRequest(record.RequestJson, json.Options);
            var scored = request.Target is null ? null : Score(result!.Model, dataset!, request.Target, request.Offset, datasets);
            if (scored is not { } s)
                return NotAvailable(id, kind, "the fit's data set no longer has its columns", FitPlots.Available(result!, hasDataset: false));
            chart = result!.Model.Binomial ? FitPlots.Roc(s.Actual, s.Predicted) : FitPlots.PredictedAgainstActual(result, s.Actual, s.Predicted);
        }
        else chart = FitPlots.Build(kind, result!);
        return TypedResults.Content(SvgChart.Render(chart), SvgMediaType);
    }

    /// <summary>The tenant's fit and its stored result, or the problem: 404 unknown (another tenant's too), 409 not succeeded.</summary>
    private static (FitRecord? Record, StoredResult? Result, ProblemHttpResult? Problem) Succeeded(string tenant, string id, IFitStore fits,
        JsonSerializerOptionsProvider json)
    {
        var record = fits.Get(tenant, id);
        if (record is null) return (null, null, Problems.NotFound("Fit", id, "id"));
        if (!FitModels.HasResult(record))
            return (record, null, Problems.Status(StatusCodes.Status409Conflict, "Fit not succeeded",
                $"fit {id} is {record.Status.Name()}; only a succeeded fit has plots (or a fit canceled after some lambdas, of those lambdas)",
                new Dictionary<string, object?> { ["fitStatus"] = record.Status.Name() }));
        return (record, StoredResults.Read(record.ResultJson!, json.Options), null);
    }

    private static ProblemHttpResult NotAvailable(string id, string kind, string why, IReadOnlyList<string> available) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Plot not available",
            detail: $"fit {id} has no '{kind}' plot: {why}; it can draw {(available.Count == 0 ? "none" : string.Join(", ", available))}",
            extensions: new Dictionary<string, object?> { ["field"] = "kind", ["available"] = available });

    /// <summary>
    /// The target and the model's predictions (fitted values, or probabilities of class 1) on every row of the fit's data set,
    /// read column by column; null when a column the fit needs is gone.
    /// </summary>
    private static (double[] Actual, double[] Predicted)? Score(StoredModel model, Dataset dataset, string target, string? offset,
        IDatasetStore datasets)
    {
        var columns = dataset.Columns.Select((c, i) => (c.Name, i)).ToDictionary(c => c.Name, c => c.i, StringComparer.Ordinal);
        var inputs = model.RowFeatures;
        if (!columns.TryGetValue(target, out int y) || inputs.Any(f => !columns.ContainsKey(f))) return null;
        int o = -1;
        if (offset is not null && !columns.TryGetValue(offset, out o)) return null;
        try
        {
            var x = new DenseMatrix(dataset.Rows, inputs.Length);
            for (int j = 0; j < inputs.Length; j++) datasets.ReadColumn(dataset, columns[inputs[j]]).CopyTo(x.Column(j));
            var offsets = o >= 0 ? datasets.ReadColumn(dataset, o) : null;
            return (datasets.ReadColumn(dataset, y), StoredResults.Score(model, x, model.Intercept, model.Coefficients, offsets).Mean);
        }
        catch (IOException)
        {
            return null;   // deleted between the lookup and the read
        }
    }
}
