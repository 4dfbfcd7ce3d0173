using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RegService.Api.Tests;

/// <summary>
/// http/RegService.http works as written: every request runs in order (the part before the keys section without
/// keys, as under dotnet run; the keys section with Auth:Mode ApiKeys and the file's admin key), answers the status
/// its heading names, and a JSON answer passes the schema the OpenAPI document gives that status.
/// </summary>
public sealed partial class HttpExamplesTests
{
    private sealed record Request(string Heading, string? Name, string Method, string Url, Dictionary<string, string> Headers, string? Body);

    [Fact]
    public async Task EveryRequestOfTheHttpFileAnswersTheStatusItsHeadingNames()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(PublishedAppTests.Published.RepositoryRoot(), "http", "RegService.http"));
        int keys = text.IndexOf("# ---- Keys and tenants", StringComparison.Ordinal);
        Assert.True(keys > 0, "the keys section is where the file says keys are on");
        var variables = Variables(text);
        var open = Parse(text[..keys]);
        var withKeys = Parse(text[keys..]);
        Assert.True(open.Count >= 25 && withKeys.Count >= 6, $"{open.Count} and {withKeys.Count} requests");

        using (var factory = new ApiFactory(workers: 1)) await Run(factory, open, variables);
        using (var factory = new ApiFactory(workers: 1, settings: new Dictionary<string, string?>
               {
                   ["Auth:Mode"] = "ApiKeys", ["Auth:AdminKey"] = variables["adminKey"], ["Api:ExposeDocs"] = "true",
               }))
            await Run(factory, withKeys, variables);
    }

    private static async Task Run(ApiFactory factory, List<Request> requests, Dictionary<string, string> variables)
    {
        using var client = factory.CreateClient();
        var validator = new OpenApiSchemaValidator(JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!);
        var answers = new Dictionary<string, JsonNode?>();
        foreach (var request in requests)
        {
            string Resolve(string s) => Reference().Replace(s, m =>
            {
                var name = m.Groups[1].Value;
                if (variables.TryGetValue(name, out var value)) return value;
                var parts = name.Split('.');   // name.response.body.$.field
                Assert.True(parts.Length == 5 && answers.ContainsKey(parts[0]), $"{request.Heading}: '{name}' is not known yet");
                return answers[parts[0]]![parts[4]]!.GetValue<string>();
            });
            var url = Resolve(request.Url).Replace("http://localhost:5000", "", StringComparison.Ordinal);
            // A prediction, the model, its coefficients, a refit or a deletion needs the fit finished: wait for it as a person would.
            if (FitOf().Match(url) is { Success: true } fit && (request.Method == "DELETE"
                    || new Uri("http://x" + url).AbsolutePath.Split('/')[^1] is "predict" or "coefficients" or "model" or "refit"))
                await Http.WaitForFit(client, fit.Groups[1].Value, TimeSpan.FromSeconds(120));

            using var message = new HttpRequestMessage(new HttpMethod(request.Method), url);
            if (request.Body is not null)
                message.Content = new StringContent(Resolve(request.Body), System.Text.Encoding.UTF8, request.Headers.GetValueOrDefault("Content-Type", "application/json"));
            foreach (var (header, value) in request.Headers.Where(h => h.Key != "Content-Type"))
                message.Headers.TryAddWithoutValidation(header, Resolve(value));
            using var response = await client.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            var json = body.Length > 0 && response.Content.Headers.ContentType?.MediaType?.Contains("json") == true ? JsonNode.Parse(body) : null;
            if (request.Name is not null) answers[request.Name] = json;

            var statuses = Statuses().Match(request.Heading).Groups[1].Value.Split(" / ").Select(int.Parse).ToList();
            // The 429 example is one request of a queue being filled: alone it is accepted.
            if (statuses is [429]) statuses.Add(202);
            Assert.True(statuses.Contains((int)response.StatusCode), $"{request.Heading}\n{request.Method} {url}: {(int)response.StatusCode} {body}");
            if (json is not null)
            {
                var template = Template(validator.Document, new Uri("http://x" + url).AbsolutePath);
                var schema = validator.ResponseSchema(template, request.Method.ToLowerInvariant(), (int)response.StatusCode, response.Content.Headers.ContentType!.MediaType!);
                var errors = validator.Validate(json, schema);
                Assert.True(errors.Count == 0, $"{request.Heading}: the answer fails its schema:\n{string.Join("\n", errors.Take(10))}");
            }
        }
    }

    /// <summary>The document's path template that matches a concrete path (/v1/fits/abc -> /v1/fits/{id}).</summary>
    private static string Template(JsonNode document, string path) =>
        document["paths"]!.AsObject().Select(p => p.Key).Single(t =>
            Regex.IsMatch(path, "^" + Regex.Replace(Regex.Escape(t), @"\\\{[^}]+}", "[^/]+") + "$"));

    private static Dictionary<string, string> Variables(string text) =>
        Variable().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());

    /// <summary>Requests: a ### heading, comments (# @name), the request line, headers, a blank line, the body.</summary>
    private static List<Request> Parse(string text)
    {
        var requests = new List<Request>();
        foreach (var block in text.Split("\n###").Skip(1))
        {
            var lines = block.Split('\n');
            var heading = "###" + lines[0];
            string? name = null, method = null, url = null;
            var headers = new Dictionary<string, string>();
            int i = 1;
            for (; i < lines.Length && method is null; i++)
            {
                if (lines[i].StartsWith("# @name ", StringComparison.Ordinal)) name = lines[i][8..].Trim();
                else if (RequestLine().Match(lines[i]) is { Success: true } m) (method, url) = (m.Groups[1].Value, m.Groups[2].Value.Trim());
            }
            Assert.True(method is not null, $"no request under '{heading}'");
            for (; i < lines.Length && lines[i].Trim().Length > 0; i++)
            {
                int colon = lines[i].IndexOf(':');
                headers[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
            var body = string.Join('\n', lines.Skip(i + 1).TakeWhile(l => !l.StartsWith("# ----", StringComparison.Ordinal))
                .Where(l => !l.StartsWith('@'))).Trim();
            requests.Add(new Request(heading, name, method!, url!, headers, body.Length == 0 ? null : body + (headers.GetValueOrDefault("Content-Type") == "text/csv" ? "\n" : "")));
        }
        return requests;
    }

    [GeneratedRegex(@"\{\{([^}]+)\}\}")]
    private static partial Regex Reference();

    [GeneratedRegex(@"^/v1/fits/([0-9a-f]{32})")]
    private static partial Regex FitOf();

    [GeneratedRegex(@"^### (\d{3}(?: / \d{3})*)")]
    private static partial Regex Statuses();

    [GeneratedRegex(@"^@(\w+) = (.+)$", RegexOptions.Multiline)]
    private static partial Regex Variable();

    [GeneratedRegex(@"^(GET|POST|PUT|DELETE|PATCH) (\S+)")]
    private static partial Regex RequestLine();
}
