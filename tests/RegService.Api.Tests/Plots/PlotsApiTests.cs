using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Auth;
using RegService.Api.Infrastructure;
using RegService.Api.Plots;
using RegService.Api.Storage;

namespace RegService.Api.Tests.Plots;

/// <summary>
/// GET /v1/fits/{id}/plots and /plots/{kind}.svg on real fits: a lasso path with 10-fold CV (path, validation,
/// complexity, fitted), an adam fit with early stopping (learning), a binomial fit (ROC). The SVG is checked by its
/// structure against the stored result: the number of series, where the marked lambdas sit on the scale, the axis ranges.
/// </summary>
public sealed class PlotsApiTests : IAsyncLifetime
{
    private static readonly XNamespace Svg = SvgChartTests.Svg;
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _gaussianSet = null!, _lasso = null!, _adam = null!, _logistic = null!;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _gaussianSet = await Http.UploadCsv(_client, Synthetic.Gaussian(200, seed: 11).Csv());
        var binomialSet = await Http.UploadCsv(_client, Synthetic.Binomial(300, seed: 12).Csv());
        _lasso = await Http.Submit(_client, new
        {
            datasetId = _gaussianSet, target = "y", penalty = "lasso", path = new { count = 40 },
            validation = new { method = "kfold", folds = 10, seed = 3, rule = "oneStandardError" },
        });
        _adam = await Http.Submit(_client, new
        {
            datasetId = _gaussianSet, target = "y", solver = "adam", lambda = 0.001, learningRate = 0.01, epochs = 200, seed = 1,
            earlyStopping = new { patience = 10, validationFraction = 0.25 },
        });
        _logistic = await Http.Submit(_client, new
        {
            datasetId = binomialSet, target = "y", family = "binomial", penalty = "lasso", path = new { count = 20 },
            validation = new { method = "kfold", folds = 5, seed = 2 },
        });
        foreach (var id in new[] { _lasso, _adam, _logistic })
        {
            var done = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(120));
            Assert.True(done["status"]!.GetValue<string>() == "succeeded", done.ToJsonString());
        }
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TheListNamesTheKindsEachFitCanDrawInOrder()
    {
        Assert.Equal(["path", "validation", "fitted", "complexity"], await Kinds(_lasso));
        Assert.Equal(["learning", "fitted"], await Kinds(_adam));
        Assert.Equal(["path", "validation", "fitted", "complexity"], await Kinds(_logistic));
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_lasso}/plots");
        Assert.Equal(_lasso, body!["fitId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ThePathHasOneLinePerFeatureNonzeroSomewhereAndMarksTheChosenLambdaOnTheScale()
    {
        var stored = Stored(_lasso);
        var doc = await Plot(_lasso, "path");
        var nonzero = stored.Model.Path.Coefficients.SelectMany(c => c.Indices.Where((_, k) => c.Values[k] != 0)).Distinct().Count();
        Assert.InRange(nonzero, 3, 5);   // a, b, c carry the signal
        Assert.Equal(nonzero, Series(doc).Count);
        Assert.Equal(stored.Model.Features.Where((_, j) => stored.Model.Path.Coefficients.Any(c => c.Values.Where((v, k) => c.Indices[k] == j && v != 0).Any())).Order(),
            Series(doc).Select(s => (string)s.Attribute("data-name")!).Order());

        var frame = Frame(doc);
        Assert.Equal("log10", frame.XScale);
        var lambdas = stored.Model.Path.Lambdas;
        Assert.True(frame.XMin <= lambdas.Min() && frame.XMax >= lambdas.Max(), "the x range covers the path");
        var values = stored.Model.Path.Coefficients.SelectMany(c => c.Values).Append(0).ToList();
        Assert.True(frame.YMin <= values.Min() && frame.YMax >= values.Max(), "the y range covers every coefficient");

        var marker = Assert.Single(Markers(doc));
        Assert.Equal(stored.Model.Lambda, marker.Value);
        Assert.Equal(stored.PathReport.Lambda1se, stored.Model.Lambda);
        Assert.Equal(frame.Pixel(marker.Value), marker.X, 0.011);
        foreach (var (value, x) in Ticks(doc)) Assert.Equal(frame.Pixel(value), x, 0.011);
        // The nonzero counts along the top are the path's.
        var top = doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "top-label").ToList();
        Assert.InRange(top.Count, 2, 8);
        foreach (var label in top)
        {
            int l = Array.IndexOf(lambdas, Value(label, "data-value"));
            Assert.Equal(stored.PathReport.NonZero[l].ToString(CultureInfo.InvariantCulture), label.Value);
        }
    }

    [Fact]
    public async Task ValidationShowsTheCurveWithErrorBarsAndMarksLambdaMinAndLambda1se()
    {
        var stored = Stored(_lasso);
        var curve = stored.PathReport.Validation!;
        var doc = await Plot(_lasso, "validation");
        var series = Assert.Single(Series(doc));
        int finite = curve.Mean.Count(m => m is { } v && double.IsFinite(v));
        Assert.Equal(finite, (int)Value(series, "data-points"));
        Assert.Equal(finite, series.Elements(Svg + "path").Count(p => (string?)p.Attribute("class") == "error-bar"));
        var frame = Frame(doc);
        var high = curve.Mean.Zip(curve.StandardError, (m, s) => m!.Value + s!.Value).Max();
        var low = curve.Mean.Zip(curve.StandardError, (m, s) => m!.Value - s!.Value).Min();
        Assert.True(frame.YMin <= low && frame.YMax >= high, "the y range covers mean ± SE");
        var markers = Markers(doc);
        Assert.Equal([stored.PathReport.LambdaMin!.Value, stored.PathReport.Lambda1se!.Value], markers.Select(m => m.Value));
        Assert.True(markers[1].Value > markers[0].Value, "lambda.1se is the larger");
        foreach (var m in markers) Assert.Equal(frame.Pixel(m.Value), m.X, 0.011);
    }

    [Fact]
    public async Task ComplexityShowsTrainingAndValidationErrorWithTheModelGrowingToTheRight()
    {
        var stored = Stored(_lasso);
        var doc = await Plot(_lasso, "complexity");
        Assert.Equal(["training (all rows)", "validation ± 1 SE"], Series(doc).Select(s => (string)s.Attribute("data-name")!));
        var frame = Frame(doc);
        var lambdas = stored.Model.Path.Lambdas;
        Assert.True(frame.Reversed && frame.Pixel(lambdas.Max()) < frame.Pixel(lambdas.Min()), "the smallest lambda (the largest model) is at the right");
        var ticks = Ticks(doc).OrderBy(t => t.Value).ToList();
        Assert.True(ticks.Count >= 2 && ticks.Zip(ticks.Skip(1)).All(p => p.First.X > p.Second.X), "tick x falls as lambda grows");
        foreach (var (value, x) in ticks) Assert.Equal(frame.Pixel(value), x, 0.011);
        // Training error falls as the penalty weakens: at the smallest lambda it is below the validation error.
        var ratio = stored.PathReport.DevianceRatio!;
        var train = ratio.Select(r => stored.Diagnostics.NullDeviance!.Value * (1 - r!.Value)).ToList();
        Assert.True(train[^1] < train[0]);
        Assert.True(train[^1] <= stored.PathReport.Validation!.Mean[^1]!.Value);
        var marker = Assert.Single(Markers(doc));
        Assert.Equal(frame.Pixel(stored.Model.Lambda), marker.X, 0.011);
    }

    [Fact]
    public async Task LearningShowsTrainingAndValidationLossPerEpochAndMarksTheBestEpoch()
    {
        var stored = Stored(_adam);
        var training = stored.Training!;
        Assert.NotNull(training.Curve.Validation);
        var doc = await Plot(_adam, "learning");
        var series = Series(doc);
        Assert.Equal(2, series.Count);
        Assert.Equal(training.EpochsRun, (int)Value(series[0], "data-points"));
        var frame = Frame(doc);
        Assert.True(frame.XMin <= 1 && frame.XMax >= training.EpochsRun);
        var marker = Assert.Single(Markers(doc));
        Assert.Equal(training.BestEpoch, marker.Value);
        Assert.Equal(frame.Pixel(training.BestEpoch), marker.X, 0.011);
    }

    [Fact]
    public async Task FittedShowsPredictedAgainstActualForGaussianAndTheRocCurveWithItsAucForBinomial()
    {
        var doc = await Plot(_lasso, "fitted");
        var rows = Series(doc)[0];
        Assert.Equal(200, (int)Value(rows, "data-points"));
        Assert.Equal(200, rows.Elements(Svg + "circle").Count());
        Assert.StartsWith("R² 0.9", Notes(doc)[0]);

        var roc = await Plot(_logistic, "fitted");
        var curve = Series(roc)[0];
        var auc = Stored(_logistic).Metrics.Train switch { Fits.BinomialMetricsDocument b => b.Auc!.Value, var m => throw new InvalidOperationException(m.ToString()) };
        Assert.Equal($"ROC (AUC {auc.ToString("F3", CultureInfo.InvariantCulture)})", (string)curve.Attribute("data-name")!);
        var frame = Frame(roc);
        Assert.True(frame.XMin <= 0 && frame.XMax >= 1 && frame.YMin <= 0 && frame.YMax >= 1);
    }

    [Fact]
    public async Task AKindTheFitCannotDrawOrDoesNotKnowIsA404NamingTheAvailableKinds()
    {
        foreach (var kind in new[] { "learning", "nope" })
        {
            var (response, problem) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_lasso}/plots/{kind}.svg");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(["path", "validation", "fitted", "complexity"], problem!["available"]!.AsArray().Select(k => k!.GetValue<string>()));
            Assert.Contains($"'{kind}'", problem["detail"]!.GetValue<string>());
        }
        var (unknownFit, body) = await Http.Send(_client, HttpMethod.Get, "/v1/fits/0195f3a3d0a87c11b2e4f6a8c0d2e4f6/plots/path.svg");
        Assert.Equal(HttpStatusCode.NotFound, unknownFit.StatusCode);
        Assert.Equal("Fit not found", body!["title"]!.GetValue<string>());
        var (query, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_lasso}/plots/path.svg?width=10");
        Assert.Equal(HttpStatusCode.BadRequest, query.StatusCode);
    }

    [Fact]
    public async Task ThePlotsAreDeterministicAndReadableWithoutTheDataSetExceptFitted()
    {
        foreach (var kind in new[] { "path", "validation", "complexity", "fitted" })
            Assert.Equal(await Text(_lasso, kind), await Text(_lasso, kind));

        // Another fit on its own data set, whose data set is then deleted: fitted goes, the rest stays.
        var set = await Http.UploadCsv(_client, Synthetic.Gaussian(80, seed: 5).Csv());
        var fit = await Http.Submit(_client, new { datasetId = set, target = "y", penalty = "lasso", path = new { count = 10 } });
        await Http.WaitForFit(_client, fit);
        Assert.Equal(["path", "fitted"], await Kinds(fit));
        var (deleted, _) = await Http.Send(_client, HttpMethod.Delete, $"/v1/datasets/{set}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(["path"], await Kinds(fit));
        var (gone, problem) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}/plots/fitted.svg");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("deleted", problem!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFitThatHasNotSucceededIsA409()
    {
        using var factory = new ApiFactory(workers: 0);
        using var client = factory.CreateClient();
        var set = await Http.UploadCsv(client, Synthetic.Gaussian(50, seed: 1).Csv());
        var fit = await Http.Submit(client, new { datasetId = set, target = "y", penalty = "lasso" });
        foreach (var url in new[] { $"/v1/fits/{fit}/plots", $"/v1/fits/{fit}/plots/path.svg" })
        {
            var (response, problem) = await Http.Send(client, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("queued", problem!["fitStatus"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AnotherTenantsFitIsA404AsAnUnknownOneIs()
    {
        using var factory = new ApiFactory(workers: 1, settings: new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "ApiKeys", ["Auth:AdminKey"] = AuthTests.AdminKey, ["Limits:RequestsPerSecond"] = "0",
        });
        var owner = await TenantClient(factory, "owner");
        var other = await TenantClient(factory, "other");
        var set = await Http.UploadCsv(owner, Synthetic.Gaussian(60, seed: 2).Csv());
        var fit = await Http.Submit(owner, new { datasetId = set, target = "y", penalty = "lasso", path = new { count = 10 } });
        await Http.WaitForFit(owner, fit);
        foreach (var url in new[] { $"/v1/fits/{fit}/plots", $"/v1/fits/{fit}/plots/path.svg", $"/v1/fits/{fit}/plots/fitted.svg" })
        {
            using var own = await owner.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            var (theirs, problem) = await Http.Send(other, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
            Assert.Equal("Fit not found", problem!["title"]!.GetValue<string>());
            Assert.Null(problem["available"]);
        }
    }

    private static async Task<HttpClient> TenantClient(ApiFactory factory, string tenant)
    {
        var admin = factory.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthTests.AdminKey);
        var created = JsonNode.Parse(await (await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant, name = "plots" })).Content.ReadAsStringAsync())!;
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created["key"]!.GetValue<string>());
        return client;
    }

    private async Task<List<string>> Kinds(string fit)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}/plots");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        return [.. body!["kinds"]!.AsArray().Select(k => k!.GetValue<string>())];
    }

    private async Task<string> Text(string fit, string kind)
    {
        using var response = await _client.GetAsync($"/v1/fits/{fit}/plots/{kind}.svg");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(PlotsApi.SvgMediaType, response.Content.Headers.ContentType?.MediaType);
        return text;
    }

    /// <summary>The plot, parsed as XML: an 800 x 500 SVG of the kind asked for.</summary>
    private async Task<XDocument> Plot(string fit, string kind)
    {
        var doc = XDocument.Parse(await Text(fit, kind));
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.Equal("0 0 800 500", (string?)doc.Root.Attribute("viewBox"));
        Assert.Equal(kind, (string?)doc.Root.Attribute("data-kind"));
        return doc;
    }

    /// <summary>The fit's stored result, as the plots read it.</summary>
    private StoredResult Stored(string fit)
    {
        var record = _factory.Services.GetRequiredService<IFitStore>().Get(Identity.LocalTenant, fit)!;
        return StoredResults.Read(record.ResultJson!, _factory.Services.GetRequiredService<JsonSerializerOptionsProvider>().Options);
    }

    private static List<XElement> Series(XDocument doc) => [.. doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "series")];

    private static List<string> Notes(XDocument doc) => [.. doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "note").Select(t => t.Value)];

    /// <summary>The vertical markers: the value each marks and the x of its line.</summary>
    private static List<(double Value, double X)> Markers(XDocument doc) =>
        [.. doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "marker")
            .Select(g => (Value(g, "data-value"), Value(g.Element(Svg + "line")!, "x1")))];

    private static List<(double Value, double X)> Ticks(XDocument doc) =>
        [.. doc.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "tick-x")
            .Select(g => (Value(g, "data-value"), Value(g.Element(Svg + "line")!, "x1")))];

    private static double Value(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    /// <summary>The plot frame: its pixel box and the data ranges and scale it states.</summary>
    private sealed record FrameBox(double Left, double Right, double XMin, double XMax, string XScale, bool Reversed, double YMin, double YMax)
    {
        /// <summary>Where the frame's x scale puts a value (a reversed axis has its minimum at the right).</summary>
        public double Pixel(double v)
        {
            double T(double a) => XScale == "log10" ? Math.Log10(a) : a;
            double f = (T(v) - T(XMin)) / (T(XMax) - T(XMin));
            return Reversed ? Right - f * (Right - Left) : Left + f * (Right - Left);
        }
    }

    private static FrameBox Frame(XDocument doc)
    {
        var r = doc.Descendants(Svg + "rect").Single(e => (string?)e.Attribute("class") == "frame");
        double left = Value(r, "x");
        return new FrameBox(left, left + Value(r, "width"), Value(r, "data-x-min"), Value(r, "data-x-max"), (string)r.Attribute("data-x-scale")!,
            (string?)r.Attribute("data-x-reversed") == "true", Value(r, "data-y-min"), Value(r, "data-y-max"));
    }
}
