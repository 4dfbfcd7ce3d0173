using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

/// <summary>
/// The served OpenAPI document: it passes openapi-spec-validator, its examples pass their own schemas and chain
/// (the example upload is fitted by the example fit, whose model predicts the example rows), and live responses of
/// the operations pass the schemas the document gives them.
/// </summary>
public sealed class OpenApiDocumentTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 1);
    private HttpClient _client = null!;
    private OpenApiSchemaValidator _validator = null!;

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _validator = new OpenApiSchemaValidator(JsonNode.Parse(await _client.GetStringAsync("/openapi/v1.json"))!);
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private JsonNode Doc => _validator.Document;

    [Fact]
    public async Task TheDocumentPassesOpenApiSpecValidator()
    {
        var file = Path.Combine(_factory.DataDirectory, "openapi.json");
        await File.WriteAllTextAsync(file, Doc.ToJsonString());
        // The first Python with the package wins: pip's (python3 on PATH) or Debian's python3-openapi-spec-validator.
        var pythons = new[] { "python3", "/usr/bin/python3" };
        foreach (var python in pythons)
        {
            var (code, output) = Run(python, "-c \"import openapi_spec_validator\"");
            if (code != 0) continue;
            (code, output) = Run(python, $"-m openapi_spec_validator \"{file}\"");
            Assert.True(code == 0, $"openapi-spec-validator rejects the document:\n{output}");
            Assert.Contains("OK", output);
            return;
        }
        Assert.Fail("openapi-spec-validator is not installed (.ci/run installs it: apt-get install python3-openapi-spec-validator, " +
                    "or pip install openapi-spec-validator); this test must run, not skip");
    }

    [Fact]
    public void NumbersAreNumbersEnumsAreStringsAndRequiredIsAsTheServerBehaves()
    {
        var schemas = Doc["components"]!["schemas"]!;
        var text = schemas.ToJsonString();
        Assert.DoesNotContain("\"NaN\"", text);
        Assert.DoesNotContain("Infinity", text);
        var request = schemas["FitRequest"]!;
        Assert.Equal("""{"type":"string","description":"Id of an uploaded data set"}""", request["properties"]!["datasetId"]!.ToJsonString());
        Assert.Equal(["datasetId", "target"], request["required"]!.AsArray().Select(r => r!.GetValue<string>()).Order());
        Assert.Equal("double", request["properties"]!["lambda"]!["format"]!.GetValue<string>());
        Assert.Equal("""["null","number"]""", request["properties"]!["lambda"]!["type"]!.ToJsonString());
        Assert.Equal("""{"type":"number","format":"double"}""", request["properties"]!["lambdas"]!["items"]!.ToJsonString());
        foreach (var name in new[] { "JobStatus", "FamilyName", "PenaltyName", "SolverName", "ModelName", "ValidationMethodName", "RuleName" })
            Assert.Equal("string", schemas[name]!["type"]!.GetValue<string>());
        // validation.measure: cv.glmnet's type.measure, every value documented.
        var measure = schemas["ValidationMeasureName"]!;
        Assert.Contains("\"string\"", measure["type"]!.ToJsonString());
        Assert.Equal(["deviance", "mse", "mae", "class", "auc"], measure["enum"]!.AsArray().Where(v => v is not null).Select(v => v!.GetValue<string>()));
        Assert.Contains("type.measure", schemas["ValidationRequest"]!["properties"]!["measure"]!.ToJsonString());
        var validation = schemas["ValidationDocument"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        Assert.DoesNotContain("holdoutFraction", validation);
        Assert.Contains("trainRows", validation);
        Assert.DoesNotContain("classes", schemas["PredictionDocument"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()));

        var list = Doc["paths"]!["/v1/fits"]!["get"]!["parameters"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!["schema"]!);
        Assert.Equal("integer", list["limit"]["type"]!.GetValue<string>());
        Assert.Equal("integer", list["offset"]["type"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/JobStatus", list["status"]["$ref"]!.GetValue<string>());
        var predict = Doc["paths"]!["/v1/fits/{id}/predict"]!["post"]!;
        // lambda: a number, or min or 1se.
        var lambda = predict["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "lambda")!["schema"]!["anyOf"]!.AsArray();
        Assert.Equal("number", lambda[0]!["type"]!.GetValue<string>());
        Assert.Equal("""["min","1se"]""", lambda[1]!["enum"]!.ToJsonString());
        Assert.Equal("#/components/schemas/TableColumns", predict["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.False(predict["requestBody"]!["required"]?.GetValue<bool>() ?? false, "predict?datasetId= takes no body");
        foreach (var (path, method, statuses) in new[]
                 {
                     ("/v1/fits/{id}/coefficients", "get", new[] { "200", "400", "404", "409" }),
                     ("/v1/fits/{id}/refit", "post", ["202", "400", "404", "413", "415", "429", "507"]),
                     ("/v1/fits/{id}/model", "get", ["200", "400", "404", "406", "409"]),
                 })
            foreach (var status in statuses) Assert.NotNull(Doc["paths"]![path]![method]!["responses"]![status]);
        Assert.NotNull(Doc["paths"]!["/v1/fits/{id}/refit"]!["post"]!["responses"]!["202"]!["headers"]!["Location"]);
        var model = Doc["paths"]!["/v1/fits/{id}/model"]!["get"]!["responses"]!["200"]!["content"]!;
        Assert.Equal("#/components/schemas/ModelCard", model["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Equal("string", model["application/xml"]!["schema"]!["type"]!.GetValue<string>());
        var submit = Doc["paths"]!["/v1/fits"]!["post"]!["responses"]!;
        foreach (var status in new[] { "400", "401", "403", "404", "413", "415", "429", "503", "507" }) Assert.NotNull(submit[status]);
        Assert.NotNull(submit["429"]!["headers"]!["Retry-After"]);
        Assert.NotNull(submit["202"]!["headers"]!["Location"]);
        Assert.NotNull(Doc["paths"]!["/health/ready"]!["get"]!["responses"]!["503"]!["content"]!["application/json"]);
        var plot = Doc["paths"]!["/v1/fits/{id}/plots/{kind}.svg"]!["get"]!["responses"]!;
        Assert.Equal("string", plot["200"]!["content"]!["image/svg+xml"]!["schema"]!["type"]!.GetValue<string>());
        foreach (var status in new[] { "404", "409" })
        {
            Assert.NotNull(plot[status]!["content"]!["application/problem+json"]);
            Assert.NotNull(Doc["paths"]!["/v1/fits/{id}/plots"]!["get"]!["responses"]![status]);
        }
    }

    /// <summary>Family multinomial's offset is a map from class label to column name, a plain typed field for a generated client
    /// (string values), documented with its form and its faults; offset's description points to it.</summary>
    [Fact]
    public void ClassOffsetsIsAMapOfClassLabelsToColumnNames()
    {
        var properties = Doc["components"]!["schemas"]!["FitRequest"]!["properties"]!;
        var classOffsets = properties["classOffsets"]!;
        Assert.Contains("\"object\"", classOffsets["type"]!.ToJsonString());
        Assert.Equal("""{"type":"string"}""", classOffsets["additionalProperties"]!.ToJsonString());
        var description = classOffsets["description"]!.GetValue<string>();
        foreach (var part in new[] { "n x K", "class label", "every class", "zeroOffset", "classOffsets.<label>", "not features" })
            Assert.Contains(part, description);
        Assert.Contains("classOffsets", properties["offset"]!["description"]!.GetValue<string>());
        Assert.Contains("classOffsets", properties["family"]!["description"]!.ToJsonString());
    }

    [Fact]
    public void TheEventStreamAndTheLongPollAreDocumented()
    {
        var events = Doc["paths"]!["/v1/fits/{id}/events"]!["get"]!;
        Assert.Equal("StreamFitEvents", events["operationId"]!.GetValue<string>());
        var stream = events["responses"]!["200"]!["content"]!.AsObject();
        Assert.Equal(["text/event-stream"], stream.Select(c => c.Key));
        Assert.Equal("string", stream["text/event-stream"]!["schema"]!["type"]!.GetValue<string>());
        Assert.StartsWith("event: progress\ndata: {", stream["text/event-stream"]!["example"]!.GetValue<string>());
        foreach (var status in new[] { "401", "404", "429", "503" })
            Assert.NotNull(events["responses"]![status]!["content"]!["application/problem+json"]);
        Assert.NotNull(events["responses"]!["429"]!["headers"]!["Retry-After"]);

        var get = Doc["paths"]!["/v1/fits/{id}"]!["get"]!;
        var wait = get["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "waitSeconds")!;
        Assert.Equal("query", wait["in"]!.GetValue<string>());
        Assert.Equal("integer", wait["schema"]!["type"]!.GetValue<string>());
        Assert.Equal((0, 60), (wait["schema"]!["minimum"]!.GetValue<int>(), wait["schema"]!["maximum"]!.GetValue<int>()));
        foreach (var status in new[] { "200", "400", "404", "429" }) Assert.NotNull(get["responses"]![status]);
        Assert.NotNull(get["responses"]!["429"]!["headers"]!["Retry-After"]);

        // The progress members, documented.
        var progress = Doc["components"]!["schemas"]!["JobProgress"]!["properties"]!.AsObject();
        foreach (var member in new[] { "fraction", "stage", "etaSeconds", "lambda", "lambdaIndex", "lambdaCount", "devianceRatio",
                     "fold", "folds", "foldsDone", "epoch", "epochs", "loss", "validationLoss" })
            Assert.False(string.IsNullOrEmpty(progress[member]?["description"]?.GetValue<string>()), $"progress.{member} has no description");
        Assert.Equal(["fraction"], Doc["components"]!["schemas"]!["JobProgress"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public void EveryExampleValidatesAgainstItsSchema()
    {
        int checkedExamples = 0;
        foreach (var (path, item) in Doc["paths"]!.AsObject())
            foreach (var (method, operation) in item!.AsObject())
            {
                var bodies = new List<(string Where, JsonNode Media)>();
                foreach (var (mediaType, media) in operation!["requestBody"]?["content"]?.AsObject() ?? [])
                    bodies.Add(($"{method} {path} request {mediaType}", media!));
                foreach (var (status, response) in operation["responses"]!.AsObject())
                    foreach (var (mediaType, media) in response!["content"]?.AsObject() ?? [])
                        bodies.Add(($"{method} {path} {status} {mediaType}", media!));
                foreach (var (where, media) in bodies)
                {
                    if (media["example"] is not { } example) continue;
                    var errors = _validator.Validate(example, media["schema"]!);
                    Assert.True(errors.Count == 0, $"the example of {where} fails its schema:\n{string.Join("\n", errors)}");
                    checkedExamples++;
                }
            }
        Assert.True(checkedExamples >= 14, $"only {checkedExamples} examples");
    }

    [Fact]
    public async Task TheExampleUploadIsFittedByTheExampleFitAndItsModelPredictsTheExampleRows()
    {
        var upload = Doc["paths"]!["/v1/datasets"]!["post"]!["requestBody"]!["content"]!;
        var submit = Doc["paths"]!["/v1/fits"]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"]!.AsObject();
        var predict = Doc["paths"]!["/v1/fits/{id}/predict"]!["post"]!["requestBody"]!["content"]!;
        foreach (var (mediaType, body) in new[]
                 {
                     ("text/csv", upload["text/csv"]!["example"]!.GetValue<string>()),
                     ("application/json", upload["application/json"]!["example"]!.ToJsonString()),
                 })
        {
            var (created, dataset) = await Http.Send(_client, HttpMethod.Post, "/v1/datasets", body, mediaType);
            Assert.True(created.StatusCode == HttpStatusCode.Created, dataset?.ToJsonString());
            // As a generated client sends it: every default of the schema filled in (Kiota's constructors set them).
            var request = WithDefaults(submit.DeepClone().AsObject(), Doc["components"]!["schemas"]!["FitRequest"]!);
            request["datasetId"] = dataset!["id"]!.GetValue<string>();
            var (accepted, job) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", request.ToJsonString());
            Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, job?.ToJsonString());
            var done = await Http.WaitForFit(_client, job!["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));
            Assert.True(done["status"]!.GetValue<string>() == "succeeded", done.ToJsonString());
            foreach (var (rowsType, rows) in new[]
                     {
                         ("text/csv", predict["text/csv"]!["example"]!.GetValue<string>()),
                         ("application/json", predict["application/json"]!["example"]!.ToJsonString()),
                     })
            {
                var (ok, predictions) = await Http.Send(_client, HttpMethod.Post, $"/v1/fits/{job["id"]}/predict", rows, rowsType);
                Assert.True(ok.StatusCode == HttpStatusCode.OK, predictions?.ToJsonString());
                Assert.Equal(2, predictions!["rows"]!.GetValue<int>());
            }
        }
    }

    [Fact]
    public async Task LiveResponsesValidateAgainstTheirSchemas()
    {
        var gaussian = Synthetic.Gaussian(120, seed: 3);
        var binomial = Synthetic.Binomial(150, seed: 4);
        var (_, gaussianSet) = await Checked(HttpMethod.Post, "/v1/datasets", "/v1/datasets", 201, gaussian.Csv(), "text/csv");
        var (_, binomialSet) = await Checked(HttpMethod.Post, "/v1/datasets", "/v1/datasets", 201,
            new JsonObject { ["name"] = "binomial", ["columns"] = new JsonObject(binomial.Names.Select(n =>
                KeyValuePair.Create(n, (JsonNode?)new JsonArray([.. binomial.Column(n).Select(v => (JsonNode?)v)])))) }.ToJsonString());
        string gaussianId = gaussianSet!["id"]!.GetValue<string>(), binomialId = binomialSet!["id"]!.GetValue<string>();
        await Checked(HttpMethod.Get, $"/v1/datasets/{gaussianId}", "/v1/datasets/{id}", 200);
        await Checked(HttpMethod.Get, "/v1/datasets?limit=1", "/v1/datasets", 200);

        var fits = new List<string>();
        foreach (var request in new[]
                 {
                     $$$"""{"datasetId":"{{{gaussianId}}}","target":"y","penalty":"lasso","path":{"count":15},"validation":{"method":"kfold","folds":5,"seed":1}}""",
                     $$$"""{"datasetId":"{{{binomialId}}}","target":"y","family":"binomial","penalty":"elasticNet","path":{"count":10},"validation":{"method":"kfold","folds":4,"seed":2,"rule":"oneStandardError"}}""",
                     $$$"""{"datasetId":"{{{gaussianId}}}","target":"y","penalty":"ridge","lambdas":[0.1,0.01],"validation":{"method":"holdout","holdoutFraction":0.25}}""",
                     $$$"""{"datasetId":"{{{gaussianId}}}","target":"y","solver":"adam","lambda":0.001,"epochs":5,"earlyStopping":{"patience":2}}""",
                     // A partial result: proximal gradient's path-wide maxIterations runs out after some lambdas.
                     $$$"""{"datasetId":"{{{gaussianId}}}","target":"y","penalty":"lasso","solver":"proximalGradient","path":{"count":30},"maxIterations":40,"timeLimitSeconds":600}""",
                 })
        {
            var (_, job) = await Checked(HttpMethod.Post, "/v1/fits", "/v1/fits", 202, request);
            fits.Add(job!["id"]!.GetValue<string>());
        }
        foreach (var id in fits)
        {
            var done = await Http.WaitForFit(_client, id, TimeSpan.FromSeconds(60));
            Assert.True(done["status"]!.GetValue<string>() == "succeeded", done.ToJsonString());
            await Checked(HttpMethod.Get, $"/v1/fits/{id}", "/v1/fits/{id}", 200);
            await Checked(HttpMethod.Get, $"/v1/fits/{id}?include=path,standardization", "/v1/fits/{id}", 200);
            await Checked(HttpMethod.Get, $"/v1/fits/{id}/path?offset=1&limit=3", "/v1/fits/{id}/path", 200);
        }
        var partial = await Http.WaitForFit(_client, fits[4]);
        Assert.True(partial["result"]!["partial"]?.GetValue<bool>() == true, partial.ToJsonString());
        Assert.Equal("maxIterations", partial["result"]!["partialReason"]!.GetValue<string>());
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[0]}?include=everything", "/v1/fits/{id}", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, "/v1/fits/nope/path", "/v1/fits/{id}/path", 404, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, "/v1/fits?status=succeeded&limit=10", "/v1/fits", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[1]}?waitSeconds=5", "/v1/fits/{id}", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[1]}?waitSeconds=61", "/v1/fits/{id}", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, "/v1/fits/nope/events", "/v1/fits/{id}/events", 404, mediaType: "application/problem+json");
        // Each event's data is a FitJob, as the schema of the list's items says.
        using (var response = await _client.GetAsync($"/v1/fits/{fits[1]}/events"))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var data = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).ToList();
            Assert.Single(data);
            var errors = _validator.Validate(JsonNode.Parse(data[0][6..]), Doc["components"]!["schemas"]!["FitJob"]!);
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/predict", "/v1/fits/{id}/predict", 200, gaussian.Csv("a", "b", "c", "d", "e"), "text/csv");
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[1]}/predict", "/v1/fits/{id}/predict", 200, binomial.Csv("a", "b", "c", "d", "e"), "text/csv");
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[0]}/plots", "/v1/fits/{id}/plots", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[0]}/plots/learning.svg", "/v1/fits/{id}/plots/{kind}.svg", 404, mediaType: "application/problem+json");
        using (var svg = await _client.GetAsync($"/v1/fits/{fits[0]}/plots/path.svg"))
        {
            Assert.Equal(HttpStatusCode.OK, svg.StatusCode);
            Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(_validator.ResponseSchema("/v1/fits/{id}/plots/{kind}.svg", "get", 200, "image/svg+xml"));
        }
        // A prediction that overflows is null, not a 500 or a "NaN" string.
        var (_, overflow) = await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/predict", "/v1/fits/{id}/predict", 200,
            "a,b,c,d,e\n1e308,-1e308,1e308,0,0\n0.5,0.5,0.5,0.5,0.5\n", "text/csv");
        Assert.Null(overflow!["predictions"]![0]);
        Assert.True(double.IsFinite(overflow["predictions"]![1]!.GetValue<double>()));

        // glmnet-style access: coefficients at a lambda between path points, min and 1se, a stored data set scored, the
        // model card, the exact refit; and their problems.
        var (_, at) = await Checked(HttpMethod.Get, $"/v1/fits/{fits[0]}/coefficients?lambda=0.01", "/v1/fits/{id}/coefficients", 200);
        Assert.True(at!["interpolated"]!.GetValue<bool>() || at["outsidePath"]!.GetValue<bool>() || at["requestedLambda"] is not null);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[1]}/coefficients?lambda=1se", "/v1/fits/{id}/coefficients", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[2]}/coefficients", "/v1/fits/{id}/coefficients", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[0]}/coefficients?exact=true", "/v1/fits/{id}/coefficients", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[3]}/coefficients?lambda=abc", "/v1/fits/{id}/coefficients", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, "/v1/fits/nope/coefficients", "/v1/fits/{id}/coefficients", 404, mediaType: "application/problem+json");
        var (_, scored) = await Checked(HttpMethod.Post, $"/v1/fits/{fits[1]}/predict?datasetId={binomialId}&lambda=min", "/v1/fits/{id}/predict", 200);
        Assert.Equal("binomial", scored!["metrics"]!["family"]!.GetValue<string>());
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/predict?datasetId=nope", "/v1/fits/{id}/predict", 404, mediaType: "application/problem+json");
        foreach (var id in fits) await Checked(HttpMethod.Get, $"/v1/fits/{id}/model", "/v1/fits/{id}/model", 200);
        await Checked(HttpMethod.Get, $"/v1/fits/{fits[3]}/model?format=onnx", "/v1/fits/{id}/model", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/refit", "/v1/fits/{id}/refit", 202, """{"lambda": 0.02}""");
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/refit", "/v1/fits/{id}/refit", 400, "{}", mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, "/v1/fits/nope/refit", "/v1/fits/{id}/refit", 404, """{"lambda": 1}""", mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/refit", "/v1/fits/{id}/refit", 415, "x", "text/plain", "application/problem+json");

        // Problems: 404, 400 with errors, 400 without (a bad cell), 409, 415, an unknown query key.
        await Checked(HttpMethod.Get, "/v1/fits/nope", "/v1/fits/{id}", 404, mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, "/v1/fits", "/v1/fits", 400, """{"target":"y","lambda":-1}""", mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, "/v1/datasets", "/v1/datasets", 400, "x,y\n1,2\n3,oops\n", "text/csv", "application/problem+json");
        await Checked(HttpMethod.Post, $"/v1/fits/{fits[0]}/cancel", "/v1/fits/{id}/cancel", 409, mediaType: "application/problem+json");
        await Checked(HttpMethod.Post, "/v1/fits", "/v1/fits", 415, "x", "text/plain", "application/problem+json");
        await Checked(HttpMethod.Get, "/v1/fits?stauts=queued", "/v1/fits", 400, mediaType: "application/problem+json");
        await Checked(HttpMethod.Get, "/health/live", "/health/live", 200);
        await Checked(HttpMethod.Get, "/health/ready", "/health/ready", 200);
        var (deleted, _) = await Http.Send(_client, HttpMethod.Delete, $"/v1/fits/{fits[2]}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.NotNull(Doc["paths"]!["/v1/fits/{id}"]!["delete"]!["responses"]!["204"]);
    }

    /// <summary>Sends a request, checks the status, and validates the body against the schema the document gives that answer.</summary>
    private async Task<(HttpResponseMessage Response, JsonNode? Body)> Checked(HttpMethod method, string url, string template, int status,
        string? body = null, string contentType = "application/json", string mediaType = "application/json")
    {
        var (response, json) = await Http.Send(_client, method, url, body, contentType);
        Assert.True((int)response.StatusCode == status, $"{method} {url}: {(int)response.StatusCode} {json?.ToJsonString()}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var errors = _validator.Validate(json, _validator.ResponseSchema(template, method.Method.ToLowerInvariant(), status, mediaType));
        Assert.True(errors.Count == 0, $"{method} {url} ({status}) fails its schema:\n{string.Join("\n", errors.Take(20))}");
        return (response, json);
    }

    /// <summary>The object with every property default of its schema that it lacks, in nested objects too.</summary>
    private JsonObject WithDefaults(JsonObject value, JsonNode schema)
    {
        if (schema["$ref"] is { } reference) schema = Doc["components"]!["schemas"]![reference.GetValue<string>().Split('/')[^1]]!;
        foreach (var (name, property) in schema["properties"]?.AsObject() ?? [])
        {
            var target = property!["oneOf"]?.AsArray().FirstOrDefault(b => b!["$ref"] is not null) ?? property;
            if (value[name] is JsonObject nested) WithDefaults(nested, target!);
            else if (!value.ContainsKey(name) && property["default"] is { } fallback) value[name] = fallback.DeepClone();
        }
        return value;
    }

    private static (int Code, string Output) Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            })!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, output.Result + error.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
