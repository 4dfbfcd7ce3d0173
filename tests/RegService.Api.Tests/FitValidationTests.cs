using System.Net;
using System.Text.Json.Nodes;

namespace RegService.Api.Tests;

public sealed class FitValidationTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new(workers: 0);
    private HttpClient _client = null!;
    private string _longley = "", _binary = "", _threeClasses = "", _wide = "";

    public async Task InitializeAsync()
    {
        _client = _factory.CreateClient();
        _longley = await Http.UploadCsv(_client, await File.ReadAllTextAsync(Http.DataFile("longley.csv")));
        _binary = await Http.UploadCsv(_client, "x1,x2,y\n1,2,0\n2,1,1\n3,5,0\n4,3,1\n5,8,1\n6,2,0\n");
        _threeClasses = await Http.UploadCsv(_client, "x1,y\n1,0\n2,1\n3,2\n4,1\n5,0\n");
        var wide = string.Join(",", Enumerable.Range(1, 12).Select(j => $"x{j}")) + ",y\n"
            + string.Concat(Enumerable.Range(0, 4).Select(i => string.Join(",", Enumerable.Range(1, 13).Select(j => (i * j % 7).ToString())) + "\n"));
        _wide = await Http.UploadCsv(_client, wide);
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<JsonNode> PostExpecting(HttpStatusCode expected, string json)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
            json.Replace("DS", _longley).Replace("BIN", _binary).Replace("THREE", _threeClasses).Replace("WIDE", _wide));
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {body?.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        return body!;
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { """{"datasetId":"DS","target":"Employd","lambda":1}""", "target", "'Employd' is not a column" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","Year2"],"lambda":1}""", "features[1]", "'Year2' is not a column" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","GNP"],"lambda":1}""", "features[1]", "named twice" },
        { """{"datasetId":"DS","target":"Employed","features":["Employed"],"lambda":1}""", "features[0]", "is the target" },
        { """{"datasetId":"DS","target":"Employed","lambda":-1}""", "lambda", "must be >= 0; got -1" },
        { """{"datasetId":"DS","target":"Employed","lambda":"NaN"}""", "lambda", "finite" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[1,"Infinity"]}""", "lambdas[1]", "finite" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[]}""", "lambdas", "at least one" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"lambdas":[1]}""", "lambda", "not several" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"l1Ratio":0.5}""", "l1Ratio", "ridge has l1Ratio 0" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"l1Ratio":2}""", "l1Ratio", "[0, 1]" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"validation":{"method":"holdout","holdoutFraction":1.5}}""", "validation.holdoutFraction", "(0, 1)" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"validation":{"method":"holdout","holdoutFraction":0.01}}""", "validation.holdoutFraction", "holds out 0" },
        { """{"target":"Employed","lambda":1}""", "datasetId", "is required" },
        { """{"datasetId":"DS","target":"Employed","lamda":1}""", "lamda", "is not a field" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"penalty":"lassso"}""", "penalty", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"standardize":"yes"}""", "standardize", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1""", "lambda", "malformed JSON" },
        { """[1,2]""", "body", "wrong type" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"tolerance":0}""", "tolerance", "positive" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"maxIterations":0}""", "maxIterations", "positive; got 0" },

        // l1Ratio and the penalty
        { """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","l1Ratio":1.5}""", "l1Ratio", "must be in [0, 1]; got 1.5" },
        { """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","l1Ratio":-0.1}""", "l1Ratio", "must be in [0, 1]; got -0.1" },
        { """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","l1Ratio":"NaN"}""", "l1Ratio", "must be in [0, 1]; got NaN" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","l1Ratio":0.3}""", "l1Ratio", "lasso has l1Ratio 1; got 0.3" },
        { """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","l1Ratio":1}""", "l1Ratio", "elasticNet takes l1Ratio in (0, 1); got 1 (use lasso for 1)" },

        // lambda, lambdas, path
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","path":{"count":0}}""", "path.count", "must be from 1 to 1000; got 0" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","path":{"count":1001}}""", "path.count", "must be from 1 to 1000; got 1001" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","path":{"minRatio":1}}""", "path.minRatio", "must be in (0, 1)" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","lambda":1,"path":{}}""", "lambda", "not several" },
        { """{"datasetId":"DS","target":"Employed","penalty":"none","path":{}}""", "path", "penalty none has no penalty strength to vary" },

        // penalty factors
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"GNPP":0}}""", "penaltyFactors.GNPP", "'GNPP' is not a column of data set" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"GNP":-1}}""", "penaltyFactors.GNP", "must be a finite number >= 0 (0 leaves 'GNP' unpenalized); got -1" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"Employed":0}}""", "penaltyFactors.Employed", "'Employed' is the target, not a feature" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","Year"],"penalty":"lasso","penaltyFactors":{"Population":0}}""", "penaltyFactors.Population", "'Population' is not among the features of this fit ('GNP', 'Year')" },
        { """{"datasetId":"DS","target":"Employed","features":["GNP","Year"],"penalty":"lasso","penaltyFactors":{"GNP":0,"Year":0}}""", "penaltyFactors", "every feature has factor 0, so nothing is penalized" },
        { """{"datasetId":"DS","target":"Employed","penalty":"none","penaltyFactors":{"GNP":2}}""", "penaltyFactors", "penalty none has no penalty to weigh" },

        // validation
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","foldIds":[1,2,1,2]}}""", "validation.foldIds", "has 4 labels but data set DS has 16 rows; give one fold label per row" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","foldIds":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}}""", "validation.foldIds", "has 1 distinct label; k-fold needs at least 2" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","folds":3,"foldIds":[1,2,1,2,1,2,1,2,1,2,1,2,1,2,1,2]}}""", "validation.folds", "is 3 but foldIds has 2 distinct labels" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","folds":20}}""", "validation.folds", "20 folds of 16 rows would leave a fold empty; folds must be from 2 to 16" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","folds":1}}""", "validation.folds", "must be at least 2; got 1" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","holdoutFraction":0.2}}""", "validation.holdoutFraction", "applies to method holdout only; method is kfold" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"holdout","folds":5}}""", "validation.folds", "applies to method kfold only; method is holdout" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"loo"}}""", "validation.method", "loo is for gaussian ridge without penaltyFactors only" },
        { """{"datasetId":"DS","target":"Employed","penalty":"ridge","penaltyFactors":{"GNP":0},"validation":{"method":"gcv"}}""", "validation.method", "gcv is for gaussian ridge without penaltyFactors only" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[1,0.1],"validation":{"method":"loo","seed":3}}""", "validation.seed", "applies to methods holdout and kfold only; method is loo" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","lambda":0.1,"validation":{"method":"kfold"}}""", "validation.method", "kfold chooses among several lambdas, but lambda gives one (0.1)" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[0.1],"validation":{"method":"holdout"}}""", "validation.method", "holdout chooses among several lambdas, but lambdas holds one (0.1)" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[1,0.1],"validation":{"method":"none","rule":"oneStandardError"}}""", "validation.rule", "needs validation" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","measure":"auc"}}""", "validation.measure", "auc does not fit family gaussian; it takes mse, deviance, mae" },
        { """{"datasetId":"BIN","target":"y","family":"binomial","lambdas":[1,0.1],"validation":{"method":"none","measure":"class"}}""", "validation.measure", "needs validation (holdout or kfold)" },
        { """{"datasetId":"DS","target":"Employed","lambdas":[1,0.1],"validation":{"method":"loo","measure":"mae"}}""", "validation.measure", "loo scores the squared error (mse, the gaussian deviance); mae needs kfold or holdout" },

        // solver
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","solver":"closedForm"}""", "solver", "closedForm fits gaussian ridge or none without penaltyFactors; this request is gaussian lasso" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","solver":"proximalNewton"}""", "solver", "proximalNewton fits the binomial family" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"solver":"coordinateDescent"}""", "solver", "gaussian ridge is solved exactly in closed form" },
        { """{"datasetId":"BIN","target":"y","family":"binomial","penalty":"lasso","solver":"coordinateDescent"}""", "solver", "binomial fits use proximalNewton" },
        { """{"datasetId":"BIN","target":"y","family":"binomial","lambdas":[1,0.1],"validation":{"method":"loo"}}""", "validation.method", "this request is binomial ridge" },

        // binomial targets
        { """{"datasetId":"DS","target":"Employed","family":"binomial","penalty":"lasso"}""", "target", "'Employed' takes values 60.171, 60.323, 61.122, 61.187, 63.221 (and more); binomial needs a target whose values are all 0 or 1" },
        { """{"datasetId":"THREE","target":"y","family":"binomial","penalty":"lasso"}""", "target", "'y' takes values 0, 1, 2; binomial needs a target whose values are all 0 or 1" },

        // the gradient solvers and the MLP
        { """{"datasetId":"DS","target":"Employed","model":"mlp","dropout":[1]}""", "dropout[0]", "must be in [0, 1): the fraction of units dropped while training; got 1" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","hiddenUnits":[8,4],"dropout":[0.1,1.5]}""", "dropout[1]", "must be in [0, 1)" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","hiddenUnits":[8,4],"dropout":[0.1,0.1,0.1]}""", "dropout", "one per hidden layer (2); 3 were given" },
        { """{"datasetId":"DS","target":"Employed","solver":"adam","lambda":0.1,"learningRate":-0.01}""", "learningRate", "must be a positive number; got -0.01" },
        { """{"datasetId":"DS","target":"Employed","solver":"sgd","lambda":0.1,"batchSize":0}""", "batchSize", "must be at least 1 row; got 0" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","earlyStopping":{"patience":0}}""", "earlyStopping.patience", "must be at least 1 epoch; got 0" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","earlyStopping":{"validationFraction":1}}""", "earlyStopping.validationFraction", "must be in (0, 1); got 1" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","weightDecay":-1}""", "weightDecay", "must be a finite number >= 0; got -1" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","epochs":0}""", "epochs", "must be from 1 to 100000; got 0" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","augmentation":{"copies":2}}""", "augmentation.gaussianNoise", "is required" },
        { """{"datasetId":"DS","target":"Employed","solver":"adamW","augmentation":{"gaussianNoise":0.1,"copies":0}}""", "augmentation.copies", "must be from 1 to 1000; got 0" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","hiddenUnits":[]}""", "hiddenUnits", "an MLP has 1 or 2 hidden layers; 0 were given" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","hiddenUnits":[5000]}""", "hiddenUnits[0]", "must be from 1 to 4096 units; got 5000" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"hiddenUnits":[8]}""", "hiddenUnits", "is for model mlp" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"dropout":[0.5]}""", "dropout", "applies to the hidden layers of model mlp" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"epochs":10}""", "epochs", "applies to the stochastic solvers (solver sgd, adam or adamW, or model mlp); solver is auto" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","solver":"proximalGradient","learningRate":0.1}""", "learningRate", "solver is proximalGradient" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","solver":"proximalGradient"}""", "solver", "model mlp is trained by sgd, adam or adamW" },
        { """{"datasetId":"DS","target":"Employed","model":"mlp","path":{"count":5}}""", "path", "an MLP trains at one lambda" },
        { """{"datasetId":"DS","target":"Employed","solver":"sgd","lambdas":[1,0.1]}""", "lambdas", "sgd trains at one lambda; 2 were given" },
        { """{"datasetId":"DS","target":"Employed","solver":"adam","validation":{"method":"kfold"}}""", "validation.method", "kfold is not available with adam: use earlyStopping" },

        { """{"datasetId":"DS","target":"Employed","lambdas":[1,0.1],"solver":"proximalGradient","validation":{"method":"gcv"}}""", "validation.method", "gcv is exact from the closed form; solver proximalGradient has no such shortcut" },

        // the polynomial expansion
        { """{"datasetId":"DS","target":"Employed","lambda":1,"expansion":{"polynomialDegree":11}}""", "expansion.polynomialDegree", "must be from 1 to 10; got 11" },
        { """{"datasetId":"DS","target":"Employed","lambda":1,"expansion":{"interactions":true}}""", "expansion.polynomialDegree", "is required" },
        { """{"datasetId":"WIDE","target":"y","lambda":1,"expansion":{"polynomialDegree":10,"interactions":true}}""", "expansion", "degree 10 with interactions of 12 features makes 646645 features; at most 20000 are accepted" },
        { """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"GNP^3":0},"expansion":{"polynomialDegree":2}}""", "penaltyFactors.GNP^3", "'GNP^3' is not an expanded feature of this fit" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task AnInvalidFitRequestNamesTheFieldAtFault(string json, string field, string message)
    {
        var body = await PostExpecting(HttpStatusCode.BadRequest, json);
        var errors = body["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"no error for '{field}': {body.ToJsonString()}");
        Assert.Contains(message.Replace("DS", _longley), Http.Messages(errors[field]));
        await AssertNoFitQueued();
    }

    public static TheoryData<string> Valid => new()
    {
        """{"datasetId":"DS","target":"Employed","penalty":"lasso"}""",
        """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","path":{"count":20,"minRatio":0.01}}""",
        """{"datasetId":"DS","target":"Employed","penalty":"elasticNet","l1Ratio":0.3,"lambdas":[1,0.1],"tolerance":1e-9,"maxIterations":500}""",
        """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"GNP":0,"Year":2.5},"solver":"coordinateDescent"}""",
        """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","folds":4,"seed":3,"rule":"oneStandardError"}}""",
        """{"datasetId":"DS","target":"Employed","penalty":"lasso","validation":{"method":"kfold","folds":2,"foldIds":[1,2,1,2,1,2,1,2,1,2,1,2,1,2,1,2]}}""",
        """{"datasetId":"DS","target":"Employed","lambdas":[1,0.1,0.01],"validation":{"method":"loo"}}""",
        """{"datasetId":"DS","target":"Employed","path":{},"solver":"closedForm","validation":{"method":"gcv"}}""",
        """{"datasetId":"BIN","target":"y","family":"binomial","penalty":"elasticNet","solver":"proximalNewton","validation":{"method":"kfold","folds":3}}""",
        """{"datasetId":"BIN","target":"y","family":"binomial","penalty":"elasticNet","solver":"proximalGradient","validation":{"method":"kfold","folds":3}}""",
        """{"datasetId":"DS","target":"Employed","model":"mlp","hiddenUnits":[16,8],"dropout":[0.2],"epochs":50,"batchSize":4,"learningRate":0.01,"weightDecay":0.01,"seed":3,"earlyStopping":{"patience":5,"minDelta":0,"validationFraction":0.25}}""",
        """{"datasetId":"DS","target":"Employed","solver":"adam","penalty":"lasso","lambda":0.01,"augmentation":{"gaussianNoise":0.1,"copies":2}}""",
        """{"datasetId":"DS","target":"Employed","penalty":"lasso","penaltyFactors":{"GNP^2":0},"expansion":{"polynomialDegree":2},"validation":{"method":"kfold","folds":4}}""",
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public async Task AValidFitRequestIsQueued(string json)
    {
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits",
            json.Replace("DS", _longley).Replace("BIN", _binary).Replace("THREE", _threeClasses).Replace("WIDE", _wide));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {body?.ToJsonString()}");
    }

    [Fact]
    public async Task SeveralFaultsAreReportedTogether()
    {
        var body = await PostExpecting(HttpStatusCode.BadRequest, """{"datasetId":"DS","target":"nope","lambda":-2}""");
        var errors = body["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("target"));
        Assert.True(errors.ContainsKey("lambda"));
    }

    [Fact]
    public async Task AnUnknownDataSetAnswers404NamingIt()
    {
        var body = await PostExpecting(HttpStatusCode.NotFound, """{"datasetId":"missing123","target":"y","lambda":1}""");
        Assert.Contains("missing123", body["detail"]!.GetValue<string>());
        Assert.Equal("datasetId", body["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task AConstantTargetIsRejected()
    {
        var id = await Http.UploadCsv(_client, "x,y\n1,3\n2,3\n3,3\n");
        var (response, body) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", $$"""{"datasetId":"{{id}}","target":"y","lambda":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("constant", Http.Messages(body!["errors"]!["target"]));
    }

    [Fact]
    public async Task AFitRequestThatIsNotJsonAnswers415()
    {
        var (response, _) = await Http.Send(_client, HttpMethod.Post, "/v1/fits", "datasetId=1", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    private async Task AssertNoFitQueued()
    {
        var list = JsonNode.Parse(await _client.GetStringAsync("/v1/fits"))!;
        Assert.Equal(0, list["total"]!.GetValue<int>());
    }
}
