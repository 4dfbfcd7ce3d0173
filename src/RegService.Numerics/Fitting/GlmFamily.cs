using RegService.Numerics.Data;
using RegService.Numerics.Metrics;
using RegService.Numerics.Paths;
using RegService.Numerics.Solvers;

namespace RegService.Numerics.Fitting;

/// <summary>
/// A family of the objective (glmnet's <c>family</c>): its link, its null model, the per-row deviance validation
/// scores with, its metrics, and glmnet's path conventions for it (the early stop, the scale without an intercept).
/// Solvers and validation take these from here; a new family is one more subclass (and its kernels).
/// </summary>
public abstract class GlmFamily
{
    public static GlmFamily Gaussian { get; } = new GaussianFamily();
    public static GlmFamily Binomial { get; } = new BinomialFamily();

    public static GlmFamily For(Family family) => family switch
    {
        Fitting.Family.Gaussian => Gaussian,
        Fitting.Family.Binomial => Binomial,
        Fitting.Family.Multinomial => MultinomialFamily.Instance,
        _ => throw new ArgumentException($"no family {family}"),
    };

    public abstract Family Kind { get; }

    /// <summary>The mean response at linear predictor <paramref name="eta"/> (the inverse link).</summary>
    public abstract double Mean(double eta);

    /// <summary>The intercept of the intercept-only model whose mean response is <paramref name="yMean"/> (the link).</summary>
    public abstract double Link(double yMean);

    /// <summary>One row's deviance at <paramref name="eta"/>, as cv.glmnet scores a validation fold.</summary>
    public abstract double RowDeviance(double y, double eta);

    /// <summary>What validation reports its loss as: "mse" or "deviance".</summary>
    public abstract string Measure { get; }

    /// <summary>glmnet's early stop of a generated path for this family.</summary>
    public abstract EarlyStop Stop { get; }

    /// <summary>How a feature is scaled without an intercept.</summary>
    public abstract ScaleConvention Scale { get; }

    /// <summary>Metrics of the model <c>eta = b0 + X[rows, features] b</c> (all rows when null), weighted by the observation
    /// weights (indexed like the rows of <paramref name="x"/>) when given.</summary>
    public abstract IFitMetrics Metrics(DenseMatrix x, int[] features, int target, double intercept, double[] coefficients, int[]? rows,
        double[]? weights = null);

    /// <summary>Metrics of linear predictors <paramref name="eta"/> against <paramref name="y"/>.</summary>
    public abstract IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null);

    private sealed class GaussianFamily : GlmFamily
    {
        public override Family Kind => Fitting.Family.Gaussian;
        public override double Mean(double eta) => eta;
        public override double Link(double yMean) => yMean;
        public override double RowDeviance(double y, double eta) => (y - eta) * (y - eta);
        public override string Measure => "mse";
        public override EarlyStop Stop => EarlyStop.Relative;
        public override ScaleConvention Scale => ScaleConvention.StandardDeviation;

        public override IFitMetrics Metrics(DenseMatrix x, int[] features, int target, double intercept, double[] coefficients, int[]? rows,
            double[]? weights = null) =>
            RegressionMetrics.Compute(x, features, target, intercept, coefficients, rows, weights);

        public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) =>
            RegressionMetrics.FromPredictions(y, eta, null, weights);
    }

    private sealed class BinomialFamily : GlmFamily
    {
        /// <summary>cv.glmnet clamps predicted probabilities to [1e-5, 1 - 1e-5] before taking the deviance.</summary>
        public const double ProbabilityClamp = 1e-5;

        public override Family Kind => Fitting.Family.Binomial;
        public override double Mean(double eta) => Prediction.Logistic(eta);
        public override double Link(double yMean) => Math.Log(yMean / (1 - yMean));

        public override double RowDeviance(double y, double eta)
        {
            double p = Math.Clamp(1 / (1 + Math.Exp(-eta)), ProbabilityClamp, 1 - ProbabilityClamp);
            return -2 * (y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
        }

        public override string Measure => "deviance";
        public override EarlyStop Stop => EarlyStop.Absolute;
        public override ScaleConvention Scale => ScaleConvention.AboutCenter;

        public override IFitMetrics Metrics(DenseMatrix x, int[] features, int target, double intercept, double[] coefficients, int[]? rows,
            double[]? weights = null) =>
            weights is not null ? throw new NotSupportedException("weighted binomial metrics") : ClassificationMetrics.Compute(x, features, target, intercept, coefficients, rows);

        public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) =>
            weights is not null ? throw new NotSupportedException("weighted binomial metrics") : ClassificationMetrics.FromLinearPredictor(y, eta);
    }
}
