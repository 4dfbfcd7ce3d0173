using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// Family multinomial with glmnet's offset (an n x K matrix) through the API as classOffsets, {"class label": "column"}, against
/// R glmnet 4.1-6 (tests/fixtures/multinom_offset, made by tests/fixtures/make_multinom_offset.R): the classes at the last lambda,
/// the offset columns left out of the features, predict with the rows' offsets (posted or ?datasetId=), without them (400) or
/// with ?zeroOffset=true, cv.glmnet's choices with the offset, weights and fold ids, and every bad input a 400 naming the field.
/// </summary>
public sealed class MultinomialOffsetApiTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private string _omn3 = "", _omn5 = "";

    private static string Fixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "multinom_offset", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/multinom_offset/{name} not found above the test binaries");
    }

    private static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(Fixture(name + ".json"))).RootElement;

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _omn3 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("omn3_n300_p8.csv")));
        _omn5 = await Http.UploadCsv(_client, File.ReadAllText(Fixture("omn5_n400_p10.csv")));
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>{"2": "o2", "5": "o5", ...}: each class's offset column by its label.</summary>
    private static JsonObject ClassOffsets(JsonElement fixture)
    {
        var labels = Doubles(fixture.GetProperty("classes"));
        var columns = fixture.GetProperty("offsets").EnumerateArray().Select(o => o.GetString()!).ToArray();
        var map = new JsonObject();
        for (int k = 0; k < labels.Length; k++) map[labels[k].ToString(System.Globalization.CultureInfo.InvariantCulture)] = columns[k];
        return map;
    }

    /// <summary>
    /// Weighted grouped lasso with the offset: every class's model at the last lambda within 1e-6 of glmnet's, no offset column
    /// among the features; predict's probabilities are the softmax of b0_k + x.b_k + offset_k of the rows posted, the same from
    /// the stored data set, a 400 naming classOffsets.{label} without the columns, and the offset-free softmax with zeroOffset.
    /// </summary>
    [Fact]
    public async Task OffsetClassesMatchGlmnetAndPredictWithTheRowsOffsets()
    {
        var fixture = Json("ow_mn5_lasso_grouped");
        var lambdas = Doubles(fixture.GetProperty("lambda"));
        var labels = Doubles(fixture.GetProperty("classes"));
        var a0 = fixture.GetProperty("a0").EnumerateArray().Select(Doubles).ToArray();
        var beta = fixture.GetProperty("beta").EnumerateArray().Select(c => c.EnumerateArray().Select(Doubles).ToArray()).ToArray();
        var features = fixture.GetProperty("features").EnumerateArray().Select(f => f.GetString()!).ToArray();
        var offsets = fixture.GetProperty("offsets").EnumerateArray().Select(o => o.GetString()!).ToArray();
        var request = new JsonObject
        {
            ["datasetId"] = _omn5, ["target"] = "y", ["weights"] = "w", ["family"] = "multinomial", ["multinomialType"] = "grouped",
            ["penalty"] = "lasso", ["lambdas"] = JsonSerializer.SerializeToNode(lambdas), ["tolerance"] = 1e-18,
            ["classOffsets"] = ClassOffsets(fixture),
        };
        var id = await Http.Submit(_client, request);
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(180));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var result = job["result"]!;
        var fitted = result["coefficients"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Equal(features, fitted);   // neither w nor the offset columns
        var models = result["classes"]!["models"]!.AsArray();
        int last = lambdas.Length - 1, K = labels.Length;
        double scale = 0;
        for (int k = 0; k < K; k++) scale = Math.Max(scale, Math.Max(Math.Abs(a0[k][last]), beta[k][last].Max(Math.Abs)));
        var b0 = new double[K];
        var b = new double[K][];
        for (int k = 0; k < K; k++)
        {
            b0[k] = models[k]!["intercept"]!.GetValue<double>();
            Assert.True(Math.Abs(b0[k] - a0[k][last]) <= 1e-6 * scale, $"class {labels[k]}: intercept {b0[k]} against glmnet's {a0[k][last]}");
            b[k] = [.. features.Select(f => models[k]!["coefficients"]![f]?.GetValue<double>() ?? 0)];
            for (int j = 0; j < features.Length; j++)
                Assert.True(Math.Abs(b[k][j] - beta[k][last][j]) <= 1e-6 * scale, $"class {labels[k]} {features[j]}: {b[k][j]} against glmnet's {beta[k][last][j]}");
        }

        // Two rows with their offsets, columns in another order than the fit's.
        double[][] x = [[.. features.Select((_, j) => 0.3 * j - 1)], [.. features.Select((_, j) => 1.1 - 0.2 * j)]];
        double[][] o = [[.. offsets.Select((_, k) => 0.5 * k - 0.7)], [.. offsets.Select((_, k) => k % 2 == 0 ? 1.3 : -0.4)]];
        string Csv(bool withOffsets) =>
            string.Join(",", (withOffsets ? offsets.Reverse() : []).Concat(features)) + "\n"
            + string.Join("\n", x.Select((row, i) => string.Join(",", (withOffsets ? o[i].Reverse() : []).Concat(row).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))))) + "\n";
        double[] Expected(int i, bool withOffsets)
        {
            var eta = Enumerable.Range(0, K).Select(k => b0[k] + b[k].Zip(x[i], (c, v) => c * v).Sum() + (withOffsets ? o[i][k] : 0)).ToArray();
            double max = eta.Max(), sum = eta.Sum(e => Math.Exp(e - max));
            return [.. eta.Select(e => Math.Exp(e - max) / sum)];
        }
        var (response, body) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", Csv(true), "text/csv");
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        for (int i = 0; i < 2; i++)
        {
            var expected = Expected(i, true);
            var got = body!["probabilities"]![i]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            for (int k = 0; k < K; k++) Assert.Equal(expected[k], got[k], 1e-9);
            Assert.Equal(labels[Array.IndexOf(expected, expected.Max())], body["predictions"]![i]!.GetValue<double>());
        }
        var (missing, problem) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict", Csv(false), "text/csv");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("zeroOffset", Http.Messages(problem!["errors"]!["classOffsets.2"]));
        Assert.NotNull(problem["errors"]!["classOffsets.11"]);
        var (zero, zeroBody) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?zeroOffset=true", Csv(false), "text/csv");
        Assert.True(zero.StatusCode == HttpStatusCode.OK, zeroBody?.ToJsonString());
        for (int i = 0; i < 2; i++)
        {
            var expected = Expected(i, false);
            var got = zeroBody!["probabilities"]![i]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            for (int k = 0; k < K; k++) Assert.Equal(expected[k], got[k], 1e-9);
        }
        // The stored data set carries the offsets: its (unweighted) log loss is that of the softmax with each row's offsets.
        var lines = File.ReadAllLines(Fixture("omn5_n400_p10.csv"));
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        double LogLoss(bool withOffsets) => rows.Average(r =>
        {
            var eta = Enumerable.Range(0, K).Select(k => b0[k] + features.Select((f, j) => b[k][j] * r[Array.IndexOf(header, f)]).Sum()
                + (withOffsets ? r[Array.IndexOf(header, offsets[k])] : 0)).ToArray();
            double max = eta.Max(), sum = eta.Sum(e => Math.Exp(e - max));
            int y = Array.IndexOf(labels, r[Array.IndexOf(header, "y")]);
            return -(eta[y] - max - Math.Log(sum));
        });
        var (stored, storedBody) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={_omn5}");
        Assert.True(stored.StatusCode == HttpStatusCode.OK, storedBody?.ToJsonString());
        Assert.Equal(LogLoss(true), storedBody!["metrics"]!["logLoss"]!.GetValue<double>(), 1e-9);
        var (storedZero, storedZeroBody) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{id}/predict?datasetId={_omn5}&zeroOffset=true");
        Assert.True(storedZero.StatusCode == HttpStatusCode.OK, storedZeroBody?.ToJsonString());
        Assert.Equal(LogLoss(false), storedZeroBody!["metrics"]!["logLoss"]!.GetValue<double>(), 1e-9);
        Assert.True(Math.Abs(LogLoss(true) - LogLoss(false)) > 1e-2, "the offsets matter");
    }

    /// <summary>cv.glmnet with the offset, weights and fold ids: lambda.min, lambda.1se and the curve through the API.</summary>
    [Fact]
    public async Task KFoldWithOffsetChoosesCvGlmnetsLambdas()
    {
        var fixture = Json("cv_ow_mn3_lasso_ungrouped");
        var foldIds = fixture.GetProperty("foldid").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var request = new JsonObject
        {
            ["datasetId"] = _omn3, ["target"] = "y", ["weights"] = "w", ["family"] = "multinomial", ["penalty"] = "lasso",
            ["lambdas"] = JsonSerializer.SerializeToNode(Doubles(fixture.GetProperty("lambda"))), ["tolerance"] = 1e-14,
            ["classOffsets"] = new JsonObject { ["7"] = "o7", ["2"] = "o2", ["5"] = "o5" },   // any order
            ["validation"] = new JsonObject { ["method"] = "kfold", ["foldIds"] = JsonSerializer.SerializeToNode(foldIds) },
        };
        var id = await Http.Submit(_client, request);
        var job = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(180));
        Assert.True(job["status"]!.GetValue<string>() == "succeeded", job.ToJsonString());
        var path = job["result"]!["path"]!;
        Assert.Equal(fixture.GetProperty("lambda_min").GetDouble(), path["lambdaMin"]!.GetValue<double>(), 1e-12);
        Assert.Equal(fixture.GetProperty("lambda_1se").GetDouble(), path["lambda1se"]!.GetValue<double>(), 1e-12);
        var cvm = Doubles(fixture.GetProperty("cvm"));
        var mean = path["validation"]!["mean"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int l = 0; l < cvm.Length; l++) Assert.Equal(cvm[l], mean[l], cvm[l] * 1e-5);
    }

    private async Task<JsonNode> Fault(object extra, string field, string? csv = null)
    {
        var request = JsonNode.Parse(JsonSerializer.Serialize(extra))!.AsObject();
        request["datasetId"] = csv is null ? _omn3 : await Http.UploadCsv(_client, csv);
        request["target"] ??= "y";
        request["penalty"] ??= "lasso";
        request["lambda"] ??= 0.1;
        request["family"] ??= "multinomial";
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.True(body!["errors"]![field] is not null, body.ToJsonString());
        return body["errors"]![field]!;
    }

    [Fact]
    public async Task BadClassOffsetsAre400NamingTheField()
    {
        // A single offset column is refused for multinomial, pointing to classOffsets.
        Assert.Contains("classOffsets", Http.Messages(await Fault(new { offset = "o2" }, "offset")));
        // A label that is not a class (the classes listed), a key that is not a number, a class left out, a class named twice.
        Assert.Contains("2, 5, 7", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "o5", ["7"] = "o7", ["3"] = "o2" } }, "classOffsets.3")));
        Assert.Contains("not a class label", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "o5", ["seven"] = "o7" } }, "classOffsets.seven")));
        Assert.Contains("class 7", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "o5" } }, "classOffsets")));
        Assert.Contains("second time", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "o5", ["7"] = "o7", ["7.0"] = "o5" } }, "classOffsets.7.0")));
        // A column that is not in the data set, the target, the weights column.
        Assert.Contains("not a column", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "nope", ["5"] = "o5", ["7"] = "o7" } }, "classOffsets.2")));
        Assert.Contains("target", Http.Messages(await Fault(new { classOffsets = new Dictionary<string, string> { ["2"] = "y", ["5"] = "o5", ["7"] = "o7" } }, "classOffsets.2")));
        Assert.Contains("weights", Http.Messages(await Fault(new { weights = "w", classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "w", ["7"] = "o7" } }, "classOffsets.5")));
        // An offset column named as a feature; classOffsets with another family.
        Assert.Contains("offset", Http.Messages(await Fault(new { features = new[] { "x1", "o5" }, classOffsets = new Dictionary<string, string> { ["2"] = "o2", ["5"] = "o5", ["7"] = "o7" } }, "features[1]")));
        Assert.Contains("offset", Http.Messages(await Fault(new { family = "gaussian", classOffsets = new Dictionary<string, string> { ["2"] = "o2" } }, "classOffsets")));
        // zeroOffset for a fit without offsets is still refused at predict (no offset to assume 0 for): see PredictApiTests.
    }
}
