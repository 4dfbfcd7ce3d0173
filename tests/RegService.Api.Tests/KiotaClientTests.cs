using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RegService.Api.Tests;

/// <summary>
/// A client generated from /openapi/v1.json by Kiota (the local tool of .config/dotnet-tools.json) compiles without
/// hand-editing and runs a fit end to end against the service on a real port: upload, submit, poll, read the typed
/// result, predict.
/// </summary>
public sealed class KiotaClientTests : IDisposable
{
    private const string KiotaPackages = "2.1.6";
    private readonly ApiFactory _factory = new(workers: 1);
    private readonly string _work = ApiFactory.NewDirectory();

    public void Dispose()
    {
        _factory.Dispose();
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task AKiotaClientCompilesAndRunsALassoWithCrossValidation()
    {
        _factory.UseKestrel(0);
        _factory.StartServer();
        var url = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var document = Path.Combine(_work, "openapi.json");
        await File.WriteAllTextAsync(document, await http.GetStringAsync("/openapi/v1.json"));

        var root = PublishedAppTests.Published.RepositoryRoot();
        var timeout = TimeSpan.FromMinutes(5);
        Succeeds(PublishedAppTests.Published.RunDotnet("tool restore", root, timeout), "dotnet tool restore");
        var client = Path.Combine(_work, "client");
        Succeeds(PublishedAppTests.Published.RunDotnet(
            $"tool run kiota generate -l CSharp -d \"{document}\" -o \"{Path.Combine(client, "Generated")}\" -c RegClient -n RegClient.Sdk --log-level Warning",
            root, timeout), "kiota generate");
        await File.WriteAllTextAsync(Path.Combine(client, "client.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.Kiota.Abstractions" Version="{KiotaPackages}" />
                <PackageReference Include="Microsoft.Kiota.Http.HttpClientLibrary" Version="{KiotaPackages}" />
                <PackageReference Include="Microsoft.Kiota.Serialization.Json" Version="{KiotaPackages}" />
                <PackageReference Include="Microsoft.Kiota.Serialization.Text" Version="{KiotaPackages}" />
                <PackageReference Include="Microsoft.Kiota.Serialization.Form" Version="{KiotaPackages}" />
                <PackageReference Include="Microsoft.Kiota.Serialization.Multipart" Version="{KiotaPackages}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(client, "Program.cs"), ClientProgram);
        Succeeds(PublishedAppTests.Published.RunDotnet("build -c Release -o out --nologo", client, timeout), "building the generated client");

        var (code, output) = PublishedAppTests.Published.RunDotnet(
            $"\"{Path.Combine(client, "out", "client.dll")}\" {url} \"{Http.DataFile("longley.csv")}\"", client, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(' ')[0], l => l.Split(' ')[1].Trim());
        Assert.Equal("16", lines["rows"]);
        Assert.Equal("Succeeded", lines["status"]);
        // The typed result holds numbers: the chosen lambda is cv.glmnet's lambda.1se, one of the path's.
        Assert.Equal(lines["lambda1se"], lines["lambda"]);
        Assert.True(double.Parse(lines["lambda"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.InRange(double.Parse(lines["r2"], System.Globalization.CultureInfo.InvariantCulture), 0.9, 1.0);
        Assert.Equal("2", lines["predictions"]);
    }

    private static void Succeeds((int Code, string Log) run, string what) => Assert.True(run.Code == 0, $"{what} failed ({run.Code}):\n{run.Log}");

    /// <summary>The client program: the Longley data as JSON columns, a 10-fold lasso, its result as typed objects, a prediction.</summary>
    private const string ClientProgram = """
        using System.Globalization;
        using Microsoft.Kiota.Abstractions.Authentication;
        using Microsoft.Kiota.Http.HttpClientLibrary;
        using RegClient.Sdk.Models;

        var client = new RegClient.Sdk.RegClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider()) { BaseUrl = args[0] });
        var lines = File.ReadAllLines(args[1]);
        var names = lines[0].Split(',').Select(n => n.Trim('"')).ToArray();
        TableColumns_columns Columns(IEnumerable<string> wanted, int rows)
        {
            var columns = new TableColumns_columns();
            foreach (var name in wanted)
            {
                int j = Array.IndexOf(names, name);
                columns.AdditionalData[name] = lines.Skip(1).Take(rows).Select(l => double.Parse(l.Split(',')[j], CultureInfo.InvariantCulture)).ToList();
            }
            return columns;
        }

        var dataset = await client.V1.Datasets.PostAsync(new TableColumns { Name = "longley", Columns = Columns(names, lines.Length - 1) });
        Console.WriteLine($"rows {dataset!.Rows}");
        var job = await client.V1.Fits.PostAsync(new FitRequest
        {
            DatasetId = dataset.Id,
            Target = "Employed",
            Penalty = PenaltyName.Lasso,
            Path = new PathRequest { Count = 20 },
            Validation = new ValidationRequest { Method = ValidationMethodName.Kfold, Folds = 10, Seed = 7, Rule = RuleName.OneStandardError },
        });
        for (var deadline = DateTime.UtcNow.AddSeconds(60); job!.Status is JobStatus.Queued or JobStatus.Running && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100);
            job = await client.V1.Fits[job.Id!].GetAsync();
        }
        Console.WriteLine($"status {job.Status}");
        var result = job.Result!;
        string Show(double? v) => v!.Value.ToString("R", CultureInfo.InvariantCulture);
        Console.WriteLine($"lambda {Show(result.Lambda)}");
        Console.WriteLine($"lambda1se {Show(result.Path!.Lambda1se)}");
        Console.WriteLine($"r2 {Show(((MetricsSetDocumentGaussianMetricsDocument)result.Metrics!.Train!).R2)}");
        var predicted = await client.V1.Fits[job.Id!].Predict.PostAsync(
            new TableColumns { Columns = Columns(names.Where(n => n != "Employed"), 2) },
            c => c.QueryParameters.Lambda = result.Path.Lambdas![0]);
        Console.WriteLine($"predictions {predicted!.Predictions!.Count}");
        """;
}
