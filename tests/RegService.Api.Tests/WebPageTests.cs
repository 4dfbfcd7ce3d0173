using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RegService.Api.Extensions;
using RegService.Api.Tests.Browser;

namespace RegService.Api.Tests;

/// <summary>
/// The page at / in headless Chromium against the service on a real port (API keys on): a person's steps through
/// it, with DOM assertions on what it shows, checked against the API's own answers. Screenshots go to
/// TestResults/screenshots beside the test binaries.
/// </summary>
public sealed class WebPageTests : IAsyncLifetime
{
    private const string AdminKey = "web-page-admin-key-0123456789abcdef";

    private readonly ApiFactory _factory = new(workers: 1, settings: new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "ApiKeys",
        ["Auth:AdminKey"] = AdminKey,
        ["Limits:RequestsPerSecond"] = "0",
    });

    private readonly string _files = ApiFactory.NewDirectory();
    private string _url = null!;
    private Chromium _browser = null!;

    public static string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        _factory.UseKestrel(0);
        _factory.StartServer();
        _url = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _browser = await Chromium.Start();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _factory.Dispose();
        try { Directory.Delete(_files, recursive: true); } catch (IOException) { }
    }

    private HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = new Uri(_url) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private async Task<string> CreateKey(string tenant = "web")
    {
        using var admin = Client(AdminKey);
        var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { tenant, name = "page" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["key"]!.GetValue<string>();
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(_files, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task ThePageServesItselfWithoutAKeyUnderAPolicyThatAllowsIt()
    {
        using var anonymous = Client(null);
        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"app.js\"", await page.Content.ReadAsStringAsync());
        Assert.Equal(WebPage.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(page.Headers.CacheControl?.NoCache);

        // Revalidation: the ETag answers 304.
        var script = await anonymous.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/app.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(again)).StatusCode);

        // The API itself still wants a key.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/datasets")).StatusCode);
    }

    [Fact]
    public async Task APersonRunsALassoWithFiveFoldCrossValidationThroughThePage()
    {
        var key = await CreateKey();
        var training = Synthetic.Gaussian(600, seed: 13);
        var trainingFile = File("training.csv", training.Csv());
        var rowsFile = File("rows.csv", Synthetic.Gaussian(7, seed: 14).Csv("a", "b", "c", "d", "e"));
        var badFile = File("bad.csv", "a,b,y\n1,2,3\n4,NA,6\n");

        await using var page = await _browser.NewPage();
        await page.Navigate(_url);
        await page.WaitFor("document.body.dataset.ready === 'true'", "the page's script to start");

        // Without a key the page says one is needed and shows the 401 problem readably.
        await page.WaitFor("document.getElementById('key-status').dataset.state === 'refused'", "the key check");
        Assert.Contains("needs an API key", await Text(page, "#key-status"));
        Assert.Equal("(401)", await Text(page, "#key-problem .problem-status"));
        Assert.NotEmpty(await Text(page, "#key-problem .problem-title"));

        await page.Evaluate($"document.getElementById('api-key').value = '{key}'; document.getElementById('use-key').click()");
        await page.WaitFor("document.getElementById('key-status').dataset.state === 'ok'", "the key to be accepted");
        Assert.Equal(key, (await page.Evaluate("sessionStorage.getItem('regservice.apiKey')"))!.GetValue<string>());

        // A file the service refuses: its problem details, title, detail and the members that locate the cell.
        await page.SetFiles("#csv-file", badFile);
        await page.Evaluate("document.getElementById('upload').click()");
        await page.WaitFor("document.querySelector('#upload-problem .problem')", "the upload's problem");
        Assert.Equal("(400)", await Text(page, "#upload-problem .problem-status"));
        Assert.Equal("The data set could not be read", await Text(page, "#upload-problem .problem-title"));
        Assert.StartsWith("line 3, column 'b': 'NA' is a missing value", await Text(page, "#upload-problem .problem-detail"));
        Assert.Contains("column: b", (await page.Evaluate("[...document.querySelectorAll('#upload-problem .problem-extra')].map(p => p.textContent)"))!
            .AsArray().Select(p => p!.GetValue<string>()));

        // The data set: its columns become the target's choices.
        await page.SetFiles("#csv-file", trainingFile);
        await page.Evaluate("document.getElementById('upload').click()");
        await page.WaitFor("!document.getElementById('fit-section').hidden", "the upload");
        Assert.Contains("600 rows, 6 columns", await Text(page, "#dataset-summary"));
        Assert.Equal(0, await Count(page, "#upload-problem .problem"));
        Assert.Equal(["a", "b", "c", "d", "e", "y"], (await page.Evaluate("[...document.getElementById('target').options].map(o => o.value)"))!
            .AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("y", await page.Evaluate<string>("document.getElementById('target').value"));

        await page.Evaluate("""
            const set = (id, value) => { const e = document.getElementById(id); e.value = value; e.dispatchEvent(new Event('change')); };
            set('penalty', 'lasso'); set('validation', 'kfold'); set('folds', '5'); set('rule', 'min');
            """);
        Assert.False(await page.Evaluate<bool>("getComputedStyle(document.getElementById('folds')).display === 'none'"));
        Assert.True(await page.Evaluate<bool>("getComputedStyle(document.getElementById('l1ratio')).display === 'none'"));

        // A request the service refuses names the field: one fold is too few.
        await page.Evaluate("document.getElementById('folds').value = '1'; document.getElementById('submit-fit').click()");
        await page.WaitFor("document.querySelector('#fit-problem .problem')", "the fit request's problem");
        Assert.Equal("(400)", await Text(page, "#fit-problem .problem-status"));
        Assert.Contains("validation.folds", (await page.Evaluate("[...document.querySelectorAll('#fit-problem .problem-errors li code')].map(c => c.textContent)"))!
            .AsArray().Select(p => p!.GetValue<string>()));
        Assert.True((await page.Evaluate("document.getElementById('progress-section').hidden"))!.GetValue<bool>());
        await page.Screenshot(Path.Combine(Screenshots, "1-problem.png"));

        await page.Evaluate("document.getElementById('folds').value = '5'");
        await page.Screenshot(Path.Combine(Screenshots, "2-form.png"));

        // Submit, and follow the fit to its end.
        await page.Evaluate("document.getElementById('submit-fit').click()");
        await page.WaitFor("document.getElementById('progress-section').dataset.finished", "the fit to finish", TimeSpan.FromSeconds(90));
        Assert.Equal("succeeded", await page.Evaluate<string>("document.getElementById('progress-section').dataset.finished"));
        var fitId = await page.Evaluate<string>("document.getElementById('progress-section').dataset.fitId");
        Assert.True(int.Parse(await page.Evaluate<string>("document.getElementById('progress-section').dataset.updates"), CultureInfo.InvariantCulture) >= 2);
        Assert.True(await Count(page, "#progress-log li") >= 2);   // the submission's state, then the fit's
        Assert.StartsWith("succeeded · 100%", await Text(page, "#progress-text"));
        Assert.Equal(1.0, await page.Evaluate<double>("document.getElementById('progress-bar').value"));
        Assert.Equal(0, await Count(page, "#progress-problem .problem"));
        // Live: read from the event stream (fetch() with the key), which ended with its end event.
        Assert.Equal("the event stream", await page.Evaluate<string>("document.getElementById('progress-section').dataset.source"));
        Assert.True(int.Parse(await page.Evaluate<string>("document.getElementById('progress-section').dataset.events"), CultureInfo.InvariantCulture) >= 1);

        // What the page shows is what the API answers.
        using var api = Client(key);
        var job = JsonNode.Parse(await api.GetStringAsync($"/v1/fits/{fitId}"))!;
        var result = job["result"]!;
        Assert.Equal("kfold", result["validation"]!["method"]!.GetValue<string>());
        Assert.Equal(5, result["validation"]!["folds"]!.GetValue<int>());
        Assert.Contains("kfold (5 folds)", await Text(page, "#result-summary"));
        var sparsity = result["sparsity"]!;
        Assert.Equal(sparsity["nonZero"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture),
            await page.Evaluate<string>("document.getElementById('sparsity').dataset.nonZero"));
        Assert.StartsWith($"{sparsity["nonZero"]} of 5 coefficients nonzero", await Text(page, "#sparsity"));
        Assert.InRange(sparsity["nonZero"]!.GetValue<int>(), 3, 5);   // a, b and c carry the signal
        Assert.Equal(1 + sparsity["nonZero"]!.GetValue<int>(), await Count(page, "#coefficients tr") - 1);   // the intercept and each nonzero
        var r2 = await MetricShown(page, "train", "r2");
        Close(result["metrics"]!["train"]!["r2"]!.GetValue<double>(), r2);
        Assert.InRange(r2, 0.9, 1.0);
        Close(result["metrics"]!["validation"]!["mse"]!.GetValue<double>(), await MetricShown(page, "validation", "mse"));

        // Plots: every kind the fit can draw, each an SVG in the page with its series drawn.
        var kinds = JsonNode.Parse(await api.GetStringAsync($"/v1/fits/{fitId}/plots"))!["kinds"]!.AsArray().Select(k => k!.GetValue<string>()).ToArray();
        Assert.Contains("path", kinds);
        Assert.Contains("validation", kinds);
        await page.WaitFor($"document.querySelectorAll('#plots figure svg').length === {kinds.Length}", "the plots", TimeSpan.FromSeconds(30));
        Assert.Equal(0, await Count(page, "#plots-problem .problem, #plots .problem"));
        Assert.Equal(kinds, (await page.Evaluate("[...document.querySelectorAll('#plots figure')].map(f => f.dataset.kind)"))!
            .AsArray().Select(k => k!.GetValue<string>()));
        foreach (var kind in kinds)
        {
            var figure = $"#plots figure[data-kind=\"{kind}\"]";
            Assert.True(await Count(page, figure + " svg g.series") >= 1, $"the {kind} plot has no series");
            Assert.True(await Count(page, figure + " svg g.series polyline, " + figure + " svg g.series circle") >= 1, $"the {kind} plot draws nothing");
            // Drawn, not just present: the browser laid it out at a visible size.
            Assert.True(await page.Evaluate<double>($"document.querySelector({Quote(figure + " svg")}).getBoundingClientRect().width") > 200);
        }
        // The path plot: one series per coefficient that is ever nonzero on the path (glmnet's plot(fit)), at least the nonzero ones.
        Assert.True(await Count(page, "#plots figure[data-kind=\"path\"] svg g.series") >= sparsity["nonZero"]!.GetValue<int>());
        // The validation plot's ids were made unique in the page, and its data are clipped by its own clip path.
        var clip = await page.Evaluate<string>("document.querySelector('#plots figure[data-kind=\"validation\"] svg g.data').getAttribute('clip-path')");
        Assert.StartsWith("url(#plot-validation-", clip);
        Assert.True(await page.Evaluate<bool>($"document.getElementById({Quote(clip[5..^1])})?.closest('figure')?.dataset.kind === 'validation'"));
        Assert.True(await page.Evaluate<bool>("(ids => ids.length > 0 && ids.length === new Set(ids).size)([...document.querySelectorAll('#plots [id]')].map(e => e.id))"));

        // Predict on an uploaded file of new rows: the page shows what the API predicts for the same file.
        await page.SetFiles("#predict-file", rowsFile);
        await page.Evaluate("document.getElementById('predict').click()");
        await page.WaitFor("document.querySelector('#prediction-table') || document.querySelector('#predict-problem .problem')", "the prediction");
        Assert.Equal(0, await Count(page, "#predict-problem .problem"));
        Assert.StartsWith("7 rows scored", await Text(page, "#prediction-summary"));
        var shown = (await page.Evaluate("[...document.querySelectorAll('#prediction-table tr td:nth-child(2)')].map(td => Number(td.textContent))"))!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var content = new StringContent(await System.IO.File.ReadAllTextAsync(rowsFile), System.Text.Encoding.UTF8, "text/csv");
        var predicted = JsonNode.Parse(await (await api.PostAsync($"/v1/fits/{fitId}/predict", content)).Content.ReadAsStringAsync())!;
        var expected = predicted["predictions"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(7, shown.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], shown[i]);
        await page.Screenshot(Path.Combine(Screenshots, "3-result.png"));

        // The page kept to its Content-Security-Policy and threw nothing.
        var console = page.Console().ToList();
        Assert.DoesNotContain(console, line => line.StartsWith("exception", StringComparison.Ordinal)
            || line.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || line.StartsWith("log security", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APersonReturnsToADataSetAndAFitMadeBeforeAndScoresAStoredDataSetAtLambda1se()
    {
        var key = await CreateKey("returning");
        using var api = Client(key);
        var upload = await api.PostAsync("/v1/datasets?name=earlier", new StringContent(Synthetic.Gaussian(300, seed: 21).Csv(), System.Text.Encoding.UTF8, "text/csv"));
        var dataset = JsonNode.Parse(await upload.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var submitted = await api.PostAsJsonAsync("/v1/fits", new
        {
            datasetId = dataset, target = "y", penalty = "lasso", name = "earlier lasso",
            validation = new { method = "kfold", folds = 4, rule = "min" },
        });
        var fitId = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var job = await Http.WaitForFit(api, fitId);
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        // Another tenant's data set never shows in this key's lists.
        using var other = Client(await CreateKey("someone-else"));
        await other.PostAsync("/v1/datasets?name=someone-else", new StringContent(Synthetic.Gaussian(30, seed: 2).Csv(), System.Text.Encoding.UTF8, "text/csv"));

        await using var page = await _browser.NewPage();
        await page.Navigate(_url);
        await page.WaitFor("document.body.dataset.ready === 'true'", "the page's script to start");
        await page.Evaluate($"document.getElementById('api-key').value = '{key}'; document.getElementById('use-key').click()");
        await page.WaitFor("document.querySelectorAll('#fits-table tr[data-fit-id]').length === 1", "the list of earlier fits");

        Assert.Equal([dataset], (await page.Evaluate("[...document.getElementById('existing-dataset').options].map(o => o.value)"))!
            .AsArray().Select(o => o!.GetValue<string>()));
        Assert.StartsWith("earlier (300 x 6", await Text(page, "#existing-dataset option"));
        Assert.Equal(fitId, await page.Evaluate<string>("document.querySelector('#fits-table tr[data-fit-id]').dataset.fitId"));
        Assert.Contains("earlier lasso", await Text(page, "#fits-table tr[data-fit-id]"));
        Assert.Equal("succeeded", await Text(page, "#fits-table .fit-status"));

        // Open it: the data set and the result come back as they were.
        await page.Evaluate("document.querySelector('#fits-table .open-fit').click()");
        await page.WaitFor("document.getElementById('progress-section').dataset.finished === 'succeeded' && !document.getElementById('result-section').hidden",
            "the earlier fit's result");
        Assert.Contains("300 rows, 6 columns", await Text(page, "#dataset-summary"));
        Close(job["result"]!["metrics"]!["validation"]!["mse"]!.GetValue<double>(), await MetricShown(page, "validation", "mse"));
        Assert.False(await page.Evaluate<bool>("document.querySelector('#predict-lambda option[value=\"1se\"]').disabled"));

        // Score the stored data set at lambda.1se: the API's predictions and metrics for the same query.
        await page.Evaluate(SetField("predict-lambda", "1se") + SetField("predict-dataset", dataset) + "document.getElementById('predict-stored').click();");
        await page.WaitFor("document.querySelector('#prediction-metrics') || document.querySelector('#predict-problem .problem')", "the scored data set");
        Assert.Equal(0, await Count(page, "#predict-problem .problem"));
        var expected = JsonNode.Parse(await (await api.PostAsync($"/v1/fits/{fitId}/predict?lambda=1se&datasetId={dataset}", null)).Content.ReadAsStringAsync())!;
        Assert.Equal(job["result"]!["path"]!["lambda1se"]!.GetValue<double>(), expected["lambda"]!.GetValue<double>(), 12);
        Assert.StartsWith("300 rows scored at lambda ", await Text(page, "#prediction-summary"));
        var shown = (await page.Evaluate("[...document.querySelectorAll('#prediction-table tr td:nth-child(2)')].map(td => Number(td.textContent))"))!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(100, shown.Length);   // the first 100 rows of 300
        for (int i = 0; i < shown.Length; i++) Close(expected["predictions"]![i]!.GetValue<double>(), shown[i]);
        var mse = await page.Evaluate<string>(
            "(() => { const t = [...document.querySelectorAll('#prediction-metrics dt')].find(d => d.textContent === 'mse'); return t ? t.nextElementSibling.textContent : ''; })()");
        Close(expected["metrics"]!["mse"]!.GetValue<double>(), double.Parse(mse, CultureInfo.InvariantCulture));

        // A lambda between two path points is interpolated, and the page says so.
        var path = JsonNode.Parse(await api.GetStringAsync($"/v1/fits/{fitId}/path"))!;
        var lambdas = path["path"]!["lambdas"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var between = Math.Sqrt(lambdas[5] * lambdas[6]).ToString("R", CultureInfo.InvariantCulture);
        await page.Evaluate(SetField("predict-lambda", "number") + SetField("predict-lambda-value", between) + "document.getElementById('predict-stored').click();");
        await page.WaitFor("document.getElementById('prediction-summary')?.textContent.includes('interpolated') || document.querySelector('#predict-problem .problem')",
            "the interpolated prediction");
        Assert.Equal(0, await Count(page, "#predict-problem .problem"));
        await page.Screenshot(Path.Combine(Screenshots, "4-earlier-fit.png"));

        var console = page.Console().ToList();
        Assert.DoesNotContain(console, line => line.StartsWith("exception", StringComparison.Ordinal)
            || line.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AMultinomialFitThroughThePageShowsEachClasssCoefficientsAndPredictsClassLabels()
    {
        var key = await CreateKey("classes");
        var random = new Random(5);
        var csv = new System.Text.StringBuilder("a,b,c,y\n");
        var rows = new System.Text.StringBuilder("a,b,c\n");
        for (int i = 0; i < 300; i++)
        {
            double a = random.NextDouble() * 4 - 2, b = random.NextDouble() * 4 - 2, c = random.NextDouble();
            int label = a + 0.3 * random.NextDouble() > 0.7 ? 3 : b > 0 ? 2 : 1;
            csv.Append(CultureInfo.InvariantCulture, $"{a:R},{b:R},{c:R},{label}\n");
            if (i < 9) rows.Append(CultureInfo.InvariantCulture, $"{a:R},{b:R},{c:R}\n");
        }
        var trainingFile = File("classes.csv", csv.ToString());
        var rowsFile = File("class-rows.csv", rows.ToString());

        await using var page = await _browser.NewPage();
        await page.Navigate(_url);
        await page.WaitFor("document.body.dataset.ready === 'true'", "the page's script to start");
        await page.Evaluate($"document.getElementById('api-key').value = '{key}'; document.getElementById('use-key').click()");
        await page.WaitFor("document.getElementById('key-status').dataset.state === 'ok'", "the key to be accepted");
        await page.SetFiles("#csv-file", trainingFile);
        await page.Evaluate("document.getElementById('upload').click()");
        await page.WaitFor("!document.getElementById('fit-section').hidden", "the upload");
        await page.Evaluate(SetField("family", "multinomial") + SetField("penalty", "lasso") + SetField("validation", "kfold") + SetField("folds", "3")
            + "document.getElementById('submit-fit').click();");
        await page.WaitFor("document.getElementById('progress-section').dataset.finished", "the fit to finish", TimeSpan.FromSeconds(90));
        Assert.Equal("succeeded", await page.Evaluate<string>("document.getElementById('progress-section').dataset.finished"));
        var fitId = await page.Evaluate<string>("document.getElementById('progress-section').dataset.fitId");
        // The key check that answered 401 before the key was given leaves nothing behind once the key is accepted.
        Assert.Equal(0, await Count(page, "#key-problem .problem"));
        await page.WaitFor("document.querySelectorAll('#plots figure svg').length > 0", "the plots", TimeSpan.FromSeconds(30));
        Assert.Contains("Multinomial deviance", await Text(page, "#plots figure[data-kind=\"validation\"] svg"));

        using var api = Client(key);
        var result = JsonNode.Parse(await api.GetStringAsync($"/v1/fits/{fitId}"))!["result"]!;
        var models = result["classes"]!["models"]!.AsArray();
        Assert.Equal(3, models.Count);
        // One column per class, headed by its label; each class's intercept as the API gives it.
        Assert.Equal(["feature", "class 1", "class 2", "class 3"], (await page.Evaluate("[...document.querySelectorAll('#coefficients tr:first-child th')].map(t => t.textContent)"))!
            .AsArray().Select(t => t!.GetValue<string>()));
        var intercepts = (await page.Evaluate("[...document.querySelectorAll('#coefficients tr:nth-child(2) td')].slice(1).map(t => Number(t.textContent))"))!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int k = 0; k < 3; k++) Close(models[k]!["intercept"]!.GetValue<double>(), intercepts[k]);
        Assert.Contains("a", (await page.Evaluate("[...document.querySelectorAll('#coefficients td:first-child')].map(t => t.textContent)"))!
            .AsArray().Select(t => t!.GetValue<string>()));

        // Predictions are class labels, each with its probability, as the API answers for the same rows.
        await page.SetFiles("#predict-file", rowsFile);
        await page.Evaluate("document.getElementById('predict').click()");
        await page.WaitFor("document.querySelector('#prediction-table') || document.querySelector('#predict-problem .problem')", "the prediction");
        Assert.Equal(0, await Count(page, "#predict-problem .problem"));
        Assert.Equal(["row", "class", "its probability"], (await page.Evaluate("[...document.querySelectorAll('#prediction-table th')].map(t => t.textContent)"))!
            .AsArray().Select(t => t!.GetValue<string>()));
        var content = new StringContent(rows.ToString(), System.Text.Encoding.UTF8, "text/csv");
        var predicted = JsonNode.Parse(await (await api.PostAsync($"/v1/fits/{fitId}/predict", content)).Content.ReadAsStringAsync())!;
        var labels = (await page.Evaluate("[...document.querySelectorAll('#prediction-table tr td:nth-child(2)')].map(td => Number(td.textContent))"))!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var shownProbabilities = (await page.Evaluate("[...document.querySelectorAll('#prediction-table tr td:nth-child(3)')].map(td => Number(td.textContent))"))!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(9, labels.Length);
        for (int i = 0; i < 9; i++)
        {
            Assert.Equal(predicted["predictions"]![i]!.GetValue<double>(), labels[i]);
            Close(predicted["probabilities"]![i]!.AsArray().Max(p => p!.GetValue<double>()), shownProbabilities[i]);
        }
        Assert.Contains(3.0, labels);
        await page.Screenshot(Path.Combine(Screenshots, "5-multinomial.png"));
    }

    /// <summary>Script that sets a form field's value and tells the page it changed.</summary>
    private static string SetField(string id, string value) =>
        $"(e => {{ e.value = {Quote(value)}; e.dispatchEvent(new Event('change')); }})(document.getElementById({Quote(id)}));";

    [Fact]
    public async Task WithAuthModeNoneThePageSaysNoKeyIsNeededAndUploadsWithoutOne()
    {
        using var open = new ApiFactory(workers: 1, settings: new Dictionary<string, string?> { ["Auth:Mode"] = "None" });
        open.UseKestrel(0);
        open.StartServer();
        var url = open.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var page = await _browser.NewPage();
        await page.Navigate(url);
        await page.WaitFor("document.getElementById('key-status').dataset.state === 'ok'", "the key check");
        Assert.Contains("needs no key", await Text(page, "#key-status"));
        Assert.Equal(0, await Count(page, "#key-problem .problem"));

        await page.SetFiles("#csv-file", File("open.csv", Synthetic.Gaussian(40, seed: 3).Csv()));
        await page.Evaluate("document.getElementById('upload').click()");
        await page.WaitFor("!document.getElementById('fit-section').hidden", "the upload");
        Assert.Contains("40 rows, 6 columns", await Text(page, "#dataset-summary"));
    }

    private static async Task<string> Text(CdpPage page, string selector) =>
        (await page.Evaluate($"(document.querySelector({Quote(selector)}) || {{}}).textContent ?? ''"))?.GetValue<string>() ?? "";

    private static Task<int> Count(CdpPage page, string selector) =>
        page.Evaluate<int>($"document.querySelectorAll({Quote(selector)}).length");

    /// <summary>A metric as the page shows it (to 5 significant digits) in the list of one set (train or validation).</summary>
    private static async Task<double> MetricShown(CdpPage page, string set, string name)
    {
        var text = await page.Evaluate<string>($$"""
            (() => {
              const terms = [...document.querySelectorAll('#metrics dl[data-set="{{set}}"] dt')];
              const term = terms.find(t => t.textContent === '{{name}}');
              return term ? term.nextElementSibling.textContent : '';
            })()
            """);
        Assert.False(string.IsNullOrEmpty(text), $"the page shows no {set} {name}");
        return double.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>Equal to the 5 significant digits the page shows.</summary>
    private static void Close(double expected, double shown) =>
        Assert.True(Math.Abs(expected - shown) <= 1e-4 * Math.Abs(expected) + 1e-12, $"the page shows {shown}; the API answers {expected}");

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
