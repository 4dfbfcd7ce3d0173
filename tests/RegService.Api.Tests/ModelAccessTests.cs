using System.Net;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace RegService.Api.Tests;

/// <summary>
/// glmnet-style access: coefficients at any lambda (against glmnet's coef(fit, s, exact = FALSE) in
/// tests/fixtures/interp/gauss_lasso_interp.json), min and 1se, the exact refit as a new job, predict on a stored data set,
/// and the model card and PMML export.
/// </summary>
public sealed class ModelAccessTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private readonly Synthetic _data = Synthetic.Gaussian(80, seed: 11);
    private HttpClient _client = null!;
    private string _dataset = "";
    private string _cv = "";
    private JsonNode _cvResult = null!;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _dataset = await Http.UploadCsv(_client, _data.Csv());
        _cv = await Http.Submit(_client, new
        {
            datasetId = _dataset, target = "y", penalty = "lasso", path = new { count = 15 },
            validation = new { method = "kfold", folds = 5, seed = 1, rule = "oneStandardError" },
        });
        // The dense form (every feature by name, the path's coefficients per lambda), as the coefficients endpoint answers.
        _cvResult = await Http.WaitForDenseResult(_client, _cv, TimeSpan.FromSeconds(60));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task CoefficientsBetweenAndOutsidePathLambdasEqualGlmnetsCoefExactFalse()
    {
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Fixture("interp", "gauss_lasso_interp.json")))!;
        var csv = await File.ReadAllTextAsync(Fixture("glmnet", fixture["data"]!.GetValue<string>()));
        var dataset = await Http.UploadCsv(_client, csv);
        var lambdas = Doubles(fixture["lambda"]);
        var fit = await Http.Submit(_client, new { datasetId = dataset, target = "y", penalty = "lasso", lambdas, tolerance = 1e-16 });
        var job = await Http.WaitForFit(_client, fit, TimeSpan.FromSeconds(60));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());

        var s = Doubles(fixture["s"]);
        var intercepts = Doubles(fixture["coef_intercept"]);
        var betas = fixture["coef_beta"]!.AsArray().Select(Doubles).ToArray();
        var features = fixture["features"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray();
        int interpolated = 0, outside = 0;
        for (int i = 0; i < s.Length; i++)
        {
            var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{fit}/coefficients?lambda={s[i]:R}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
            if (body!["interpolated"]!.GetValue<bool>()) interpolated++;
            if (body["outsidePath"]!.GetValue<bool>()) outside++;
            Assert.Equal(s[i], body["requestedLambda"]!.GetValue<double>());
            double scale = Math.Max(betas[i].Max(Math.Abs), Math.Abs(intercepts[i]));
            double gap = Math.Abs(body["intercept"]!.GetValue<double>() - intercepts[i]);
            var coefficients = body["coefficients"]!.AsObject();
            Assert.Equal(features, coefficients.Select(c => c.Key));
            for (int j = 0; j < features.Length; j++) gap = Math.Max(gap, Math.Abs(coefficients[features[j]]!.GetValue<double>() - betas[i][j]));
            Assert.True(gap <= 1e-6 * scale, $"s = {s[i]}: differs from glmnet by {gap:G3} (scale {scale:G3})");
        }
        Assert.True(interpolated >= 4 && outside == 2, $"{interpolated} interpolated, {outside} outside the path");
    }

    [Fact]
    public async Task MinAnd1seAreThePathPointsValidationChose()
    {
        var path = _cvResult["path"]!;
        foreach (var (choice, field) in new[] { ("min", "lambdaMin"), ("1se", "lambda1se") })
        {
            double chosen = path[field]!.GetValue<double>();
            int index = Doubles(path["lambdas"]).ToList().IndexOf(chosen);
            var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/coefficients?lambda={choice}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
            Assert.Equal(chosen, body!["lambda"]!.GetValue<double>());
            Assert.False(body["interpolated"]!.GetValue<bool>());
            Assert.Equal(path["intercepts"]![index]!.GetValue<double>(), body["intercept"]!.GetValue<double>());
            Assert.Equal(path["coefficients"]![index]!.ToJsonString(), body["coefficients"]!.ToJsonString());
        }
        // The default is the returned model (the rule's choice, 1se here).
        var (_, returned) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/coefficients");
        Assert.Equal(_cvResult["lambda"]!.GetValue<double>(), returned!["lambda"]!.GetValue<double>());
        Assert.Equal(_cvResult["coefficients"]!.ToJsonString(), returned["coefficients"]!.ToJsonString());
        Assert.Null(returned["requestedLambda"]);
    }

    [Fact]
    public async Task MinOnAFitWithoutValidationAndABadLambdaAre400sNamingLambda()
    {
        var plain = await Http.Submit(_client, new { datasetId = _dataset, target = "y", penalty = "lasso", path = new { count = 5 } });
        Assert.Equal("succeeded", (await Http.WaitForFit(_client, plain))["status"]!.GetValue<string>());
        foreach (var (url, message) in new[]
                 {
                     ($"/v1/fits/{plain}/coefficients?lambda=1se", "1se is the lambda1se of a validated fit"),
                     ($"/v1/fits/{plain}/coefficients?lambda=-1", "must be a number >= 0, min or 1se; got '-1'"),
                     ($"/v1/fits/{plain}/coefficients?lambda=abc", "got 'abc'"),
                 })
        {
            var (response, body) = await Http.Send(_client, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(message, Http.Messages(body!["errors"]!["lambda"]));
        }
        var (predict, problem) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{plain}/predict?lambda=min", _data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, predict.StatusCode);
        Assert.Contains("min is the lambdaMin of a validated fit", Http.Messages(problem!["errors"]!["lambda"]));
    }

    [Fact]
    public async Task ExactTrueIsA400PointingToTheRefitRouteAndCreatesNoJob()
    {
        var (_, before) = await Http.Send(_client, HttpMethod.Get, "/v1/fits?limit=100");
        var (response, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/coefficients?lambda=0.05&exact=true");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"POST /v1/fits/{_cv}/refit", Http.Messages(body!["errors"]!["exact"]));
        var (_, after) = await Http.Send(_client, HttpMethod.Get, "/v1/fits?limit=100");
        Assert.Equal(before!["total"]!.GetValue<int>(), after!["total"]!.GetValue<int>());
        var (ok, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/coefficients?lambda=0.05&exact=false");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task RefitQueuesTheSameRequestAtOneLambdaThroughTheSubmissionChecks()
    {
        var (response, job) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/refit", """{"lambda": 0.037}""");
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, job?.ToJsonString());
        var id = job!["id"]!.GetValue<string>();
        Assert.Equal($"/v1/fits/{id}", response.Headers.Location!.OriginalString);
        var request = job["request"]!;
        Assert.Equal(0.037, request["lambda"]!.GetValue<double>());
        Assert.Null(request["lambdas"]);
        Assert.Null(request["path"]);
        Assert.Equal(_dataset, request["datasetId"]!.GetValue<string>());
        Assert.Equal("lasso", request["penalty"]!.GetValue<string>());
        var done = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(60));
        Assert.True(done["status"]!.GetValue<string>() == "succeeded", done.ToJsonString());
        Assert.Equal(0.037, done["result"]!["lambda"]!.GetValue<double>());

        // The submission path's own checks answer for the new request: a negative lambda is its 400, naming lambda.
        var (negative, problem) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/refit", """{"lambda": -1}""");
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.NotNull(problem!["errors"]!["lambda"]);
        var (missing, none) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/refit", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("is required", Http.Messages(none!["errors"]!["lambda"]));
        var (unknown, _) = await Http.Send(_client, HttpMethod.Post, "/v1/fits/nope/refit", """{"lambda": 1}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var (text, _) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/refit", "lambda=1", "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
    }

    [Fact]
    public async Task PredictingAStoredDataSetIgnoresItsTargetAndAddsMetrics()
    {
        var (posted, expected) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/predict?lambda=0.05", _data.Csv("a", "b", "c", "d", "e"), "text/csv");
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.True(expected!["interpolated"]!.GetValue<bool>());
        Assert.Null(expected["metrics"]);
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/predict?lambda=0.05&datasetId={_dataset}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(expected["predictions"]!.ToJsonString(), body!["predictions"]!.ToJsonString());
        var metrics = body["metrics"]!;
        Assert.Equal("gaussian", metrics["family"]!.GetValue<string>());
        Assert.Equal(80, metrics["rows"]!.GetValue<int>());
        var y = _data.Column("y");
        var p = body["predictions"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        double mse = y.Select((v, i) => (v - p[i]) * (v - p[i])).Average();
        Assert.Equal(mse, metrics["mse"]!.GetValue<double>(), 1e-12 * mse);

        // A data set without a feature of the fit (and without its target): 400 naming the column, no metrics otherwise.
        var partial = await Http.UploadCsv(_client, _data.Csv("a", "b", "d", "e"));
        var (bad, problem) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/predict?datasetId={partial}");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["columns.c"], problem!["errors"]!.AsObject().Select(e => e.Key));
        var (unknown, notFound) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{_cv}/predict?datasetId=nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("datasetId", notFound!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheModelCardHoldsWhatPredictionNeeds()
    {
        var (response, card) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/model");
        Assert.True(response.StatusCode == HttpStatusCode.OK, card?.ToJsonString());
        Assert.Equal(["a", "b", "c", "d", "e"], card!["features"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal("identity", card["link"]!.GetValue<string>());
        Assert.Equal(_cvResult["intercept"]!.GetValue<double>(), card["intercept"]!.GetValue<double>());
        Assert.Equal(_cvResult["coefficients"]!.AsObject().Select(c => c.Value!.GetValue<double>()), Doubles(card["coefficients"]));
        Assert.Equal(5, Doubles(card["means"]).Length);
        Assert.Equal("kfold", card["settings"]!["validation"]!["method"]!.GetValue<string>());
        Assert.Matches(@"^\d+\.\d+\.\d+", card["regServiceVersion"]!.GetValue<string>());
        Assert.Contains("(1/2n) sum_i (y_i - eta_i)^2", card["objective"]!.GetValue<string>());
        Assert.DoesNotContain("offset", card["objective"]!.GetValue<string>());
    }

    [Fact]
    public async Task PmmlOfALogisticFitScoresAsThePredictEndpoint()
    {
        var binomial = Synthetic.Binomial(120, seed: 9);
        var dataset = await Http.UploadCsv(_client, binomial.Csv());
        var fit = await Http.Submit(_client, new { datasetId = dataset, target = "y", family = "binomial", penalty = "lasso", lambda = 0.01 });
        Assert.Equal("succeeded", (await Http.WaitForFit(_client, fit, TimeSpan.FromSeconds(60)))["status"]!.GetValue<string>());

        foreach (var (url, accept) in new[] { ($"/v1/fits/{fit}/model?format=pmml", "*/*"), ($"/v1/fits/{fit}/model", "application/xml") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/xml", response.Content.Headers.ContentType!.MediaType);
            var pmml = XDocument.Parse(await response.Content.ReadAsStringAsync());
            XNamespace ns = "http://www.dmg.org/PMML-4_4";
            Assert.Equal(ns + "PMML", pmml.Root!.Name);
            Assert.Equal("4.4", pmml.Root.Attribute("version")!.Value);
            var model = pmml.Root.Element(ns + "GeneralRegressionModel")!;
            Assert.Equal(["MiningSchema", "ParameterList", "CovariateList", "PPMatrix", "ParamMatrix"], model.Elements().Select(e => e.Name.LocalName));
            Assert.Equal(("generalizedLinear", "classification", "logit", "binomial"),
                (model.Attribute("modelType")!.Value, model.Attribute("functionName")!.Value, model.Attribute("linkFunction")!.Value, model.Attribute("distribution")!.Value));
            AssertConsistent(pmml, ns);
            Assert.Equal(6, pmml.Root.Element(ns + "DataDictionary")!.Elements(ns + "DataField").Count());

            // Score the rows from the PMML alone: eta = sum of beta x the PPMatrix's predictor; p = 1 / (1 + e^-eta).
            var predictorOf = model.Element(ns + "PPMatrix")!.Elements(ns + "PPCell").ToDictionary(c => c.Attribute("parameterName")!.Value, c => c.Attribute("predictorName")!.Value);
            var cells = model.Element(ns + "ParamMatrix")!.Elements(ns + "PCell").ToList();
            Assert.All(cells, c => Assert.Equal("1", c.Attribute("targetCategory")!.Value));
            var eta = new double[binomial.Rows];
            foreach (var cell in cells)
            {
                double beta = double.Parse(cell.Attribute("beta")!.Value, System.Globalization.CultureInfo.InvariantCulture);
                var name = cell.Attribute("parameterName")!.Value;
                for (int i = 0; i < eta.Length; i++) eta[i] += predictorOf.TryGetValue(name, out var x) ? beta * binomial.Column(x)[i] : beta;
            }
            var (_, predicted) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{fit}/predict?datasetId={dataset}");
            Assert.NotNull(predicted!["metrics"]!["auc"]);
            PredictTests.AssertPredictions([.. eta.Select(e => 1 / (1 + Math.Exp(-e)))], predicted["predictions"]!);
        }
    }

    [Fact]
    public async Task PmmlOfALinearFitIsARegressionWithTheReturnedModelsCoefficients()
    {
        var (response, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/model?format=json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await _client.GetStringAsync($"/v1/fits/{_cv}/model?format=pmml");
        var pmml = XDocument.Parse(text);
        XNamespace ns = "http://www.dmg.org/PMML-4_4";
        AssertConsistent(pmml, ns);
        var model = pmml.Root!.Element(ns + "GeneralRegressionModel")!;
        Assert.Equal(("regression", "regression"), (model.Attribute("modelType")!.Value, model.Attribute("functionName")!.Value));
        Assert.Null(model.Attribute("linkFunction"));
        var beta = model.Element(ns + "ParamMatrix")!.Elements(ns + "PCell").ToDictionary(
            c => model.Element(ns + "ParameterList")!.Elements(ns + "Parameter").Single(p => p.Attribute("name")!.Value == c.Attribute("parameterName")!.Value).Attribute("label")!.Value,
            c => double.Parse(c.Attribute("beta")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(_cvResult["intercept"]!.GetValue<double>(), beta["(Intercept)"]);
        foreach (var (name, value) in _cvResult["coefficients"]!.AsObject())
            Assert.Equal(value!.GetValue<double>(), beta.GetValueOrDefault(name));
        Assert.Equal("y", model.Element(ns + "MiningSchema")!.Elements(ns + "MiningField").Single(f => f.Attribute("usageType")?.Value == "target").Attribute("name")!.Value);
    }

    /// <summary>
    /// What the PMML 4.4 schema and its references require of this document (no copy of the XSD could be had from the
    /// package registries reachable here; see tests/fixtures/pmml/README.md): the element order of PMML and
    /// GeneralRegressionModel, numberOfFields, and every name a cell or field uses defined where PMML says.
    /// </summary>
    private static void AssertConsistent(XDocument pmml, XNamespace ns)
    {
        Assert.Equal(["Header", "DataDictionary", "GeneralRegressionModel"], pmml.Root!.Elements().Select(e => e.Name.LocalName));
        Assert.All(pmml.Descendants(), e => Assert.Equal(ns, e.Name.Namespace));
        var dictionary = pmml.Root.Element(ns + "DataDictionary")!;
        var fields = dictionary.Elements(ns + "DataField").Select(f => f.Attribute("name")!.Value).ToList();
        Assert.Equal(fields.Count, int.Parse(dictionary.Attribute("numberOfFields")!.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(fields.Count, fields.Distinct().Count());
        Assert.All(dictionary.Elements(ns + "DataField"), f =>
        {
            Assert.Contains(f.Attribute("optype")!.Value, new[] { "continuous", "categorical" });
            Assert.Contains(f.Attribute("dataType")!.Value, new[] { "double", "integer" });
        });
        var model = pmml.Root.Element(ns + "GeneralRegressionModel")!;
        Assert.Equal(["MiningSchema", "ParameterList", "CovariateList", "PPMatrix", "ParamMatrix"], model.Elements().Select(e => e.Name.LocalName));
        Assert.All(model.Element(ns + "MiningSchema")!.Elements(ns + "MiningField"), f => Assert.Contains(f.Attribute("name")!.Value, fields));
        var parameters = model.Element(ns + "ParameterList")!.Elements(ns + "Parameter").Select(p => p.Attribute("name")!.Value).ToList();
        Assert.Equal(parameters.Count, parameters.Distinct().Count());
        var covariates = model.Element(ns + "CovariateList")!.Elements(ns + "Predictor").Select(p => p.Attribute("name")!.Value).ToList();
        Assert.All(covariates, c => Assert.Contains(c, fields));
        Assert.All(model.Element(ns + "PPMatrix")!.Elements(ns + "PPCell"), c =>
        {
            Assert.Contains(c.Attribute("predictorName")!.Value, covariates);
            Assert.Contains(c.Attribute("parameterName")!.Value, parameters);
        });
        var cells = model.Element(ns + "ParamMatrix")!.Elements(ns + "PCell").ToList();
        Assert.Equal(parameters, cells.Select(c => c.Attribute("parameterName")!.Value));
        Assert.All(cells, c => Assert.True(double.IsFinite(double.Parse(c.Attribute("beta")!.Value, System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task AnMlpHasACardButNoPmmlAndNoCoefficients()
    {
        var mlp = await Http.Submit(_client, new { datasetId = _dataset, target = "y", model = "mlp", solver = "adam", hiddenUnits = new[] { 4 }, epochs = 3, lambda = 0.001 });
        Assert.Equal("succeeded", (await Http.WaitForFit(_client, mlp, TimeSpan.FromSeconds(60)))["status"]!.GetValue<string>());
        var (card, body) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{mlp}/model");
        Assert.Equal(HttpStatusCode.OK, card.StatusCode);
        Assert.Equal(2, body!["network"]!["layers"]!.AsArray().Count);
        var (format, problem) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{mlp}/model?format=pmml");
        Assert.Equal(HttpStatusCode.BadRequest, format.StatusCode);
        Assert.Contains("an MLP is not a general regression model", Http.Messages(problem!["errors"]!["format"]));
        using var xml = new HttpRequestMessage(HttpMethod.Get, $"/v1/fits/{mlp}/model");
        xml.Headers.TryAddWithoutValidation("Accept", "application/xml");
        using var refused = await _client.SendAsync(xml);
        Assert.Equal(HttpStatusCode.NotAcceptable, refused.StatusCode);
        var (coefficients, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{mlp}/coefficients");
        Assert.Equal(HttpStatusCode.Conflict, coefficients.StatusCode);
        var (unknownFormat, _) = await Http.Send(_client, HttpMethod.Get, $"/v1/fits/{_cv}/model?format=onnx");
        Assert.Equal(HttpStatusCode.BadRequest, unknownFormat.StatusCode);
    }

    private static double[] Doubles(JsonNode? node) => [.. node!.AsArray().Select(v => v!.GetValue<double>())];

    private static string Fixture(string folder, string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/{folder}/{name} not found above the test binaries");
    }
}
