using System.Runtime.CompilerServices;

namespace RegService.Numerics.Fitting;

/// <summary>
/// A family of the objective (glmnet's <c>family</c>): its link, its null model, the per-row deviance validation
/// scores with, its metrics, and glmnet's path conventions for it (the early stop). Every family standardizes alike
/// (<see cref="Standardization"/>).
/// Solvers and validation take these from here; a new family is one more subclass (and its kernels).
/// </summary>
/// <remarks>
/// The proximal-Newton path (<see cref="BinomialPath"/>) fits every family with a canonical link through
/// <see cref="Irls"/>: with observation weights v (rescaled to sum to the rows), the loss is
/// (1/n) sum_i v_i [b(eta_i) - y_i eta_i] + <see cref="SaturatedLoss"/>, half the deviance per row; its gradient in eta is
/// -v (y - mu) and its curvature v b''(eta), so a new family is its b, b' and b'' per block.
/// </remarks>
public abstract class GlmFamily
{
    /// <summary>cv.glmnet clamps predicted probabilities to [1e-5, 1 - 1e-5] before taking the deviance (binomial and multinomial).</summary>
    public const double ProbabilityClamp = 1e-5;

    public static GlmFamily Gaussian { get; } = new GaussianFamily();
    public static GlmFamily Binomial { get; } = new BinomialFamily();
    public static GlmFamily Poisson { get; } = new PoissonFamily();

    public static GlmFamily For(Family family) => family switch
    {
        Fitting.Family.Gaussian => Gaussian,
        Fitting.Family.Binomial => Binomial,
        Fitting.Family.Poisson => Poisson,
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

    /// <summary>
    /// The measures validation may score this family by, its default first (cv.glmnet's <c>type.measure</c> choices, in
    /// cvtype's order): gaussian mse, deviance, mae; binomial deviance, class, auc, mse, mae; poisson deviance, mse, mae;
    /// multinomial deviance, class, mse, mae.
    /// </summary>
    public abstract IReadOnlyList<ValidationMeasure> Measures { get; }

    /// <summary>
    /// One row's validation loss by <paramref name="measure"/> at <paramref name="eta"/>, as cv.glmnet's <c>cvraw</c>: the
    /// deviance, or the squared or absolute error of the mean response. Auc is not a row's (it is scored per fold).
    /// </summary>
    public virtual double RowLoss(ValidationMeasure measure, double y, double eta) => measure switch
    {
        ValidationMeasure.Deviance => RowDeviance(y, eta),
        ValidationMeasure.Mse => (y - Mean(eta)) * (y - Mean(eta)),
        ValidationMeasure.Mae => Math.Abs(y - Mean(eta)),
        _ => throw new ArgumentException($"measure {SpecNames.Of(measure)} is not scored per row of the {SpecNames.Of(Kind)} family", nameof(measure)),
    };

    /// <summary>glmnet's early stop of a generated path for this family.</summary>
    public abstract EarlyStop Stop { get; }

    /// <summary>Why <paramref name="y"/> cannot be this family's target, or null when it can.</summary>
    public virtual string? TargetFault(double y) => double.IsFinite(y) ? null : $"{y} is not a finite number";

    /// <summary>
    /// Metrics of the model <c>eta = b0 + X[rows, features] b (+ offset)</c> (all rows when null), weighted by the observation
    /// weights when given; <paramref name="weights"/> and <paramref name="offset"/> are indexed like the rows of <paramref name="x"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public IFitMetrics Metrics(DenseMatrix x, int[] features, int target, double intercept, double[] coefficients, int[]? rows,
        double[]? weights = null, double[]? offset = null, int threads = 1)
    {
        int m = rows?.Length ?? x.Rows;
        var eta = KeptArrays.Take(m, clear: false);   // kept between fits: a fresh n-array's first touch is a page fault per 4 KB
        try
        {
            RegressionMetrics.Predict(x, features, intercept, coefficients, rows, eta, threads);
            var column = x.Column(target);
            // All rows without an offset: y and the weights as they are, not copied.
            if (rows is null && offset is null) return FromPredictions(column, eta, weights);
            var y = new double[m];
            var w = weights is null ? null : new double[m];
            for (int i = 0; i < m; i++)
            {
                int r = rows is null ? i : rows[i];
                y[i] = column[r];
                if (offset is not null) eta[i] += offset[r];
                if (w is not null) w[i] = weights![r];
            }
            return FromPredictions(y, eta, w);
        }
        finally
        {
            KeptArrays.Give(eta);
        }
    }

    /// <summary>Metrics of linear predictors <paramref name="eta"/> (overwritten) against <paramref name="y"/>, weighted by
    /// <paramref name="weights"/> (indexed like y) when given.</summary>
    public abstract IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null);

    // ---------------------------------------------------------------------------------------------
    // What the proximal-Newton path needs (canonical links only).
    // ---------------------------------------------------------------------------------------------

    /// <summary>
    /// One block of a proximal-Newton pass: from <paramref name="eta"/>, the target and the observation weights v (empty: all
    /// 1), the weighted mean v mu, the working weight v b''(eta) and the residual v (y - mu); returns sum v [b(eta) - y eta].
    /// </summary>
    internal virtual double Irls(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v,
        Span<double> vmu, Span<double> w, Span<double> r) => throw new NotSupportedException($"the {Kind} family is not fitted by proximal Newton");

    /// <summary>sum v [b(eta) - y eta] alone (see <see cref="Irls"/>).</summary>
    internal virtual double NegativeLogLikelihood(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v) =>
        throw new NotSupportedException($"the {Kind} family is not fitted by proximal Newton");

    /// <summary>-(b(theta_y) - y theta_y) at the saturated fit: added per row, it makes the loss half the deviance.</summary>
    internal virtual double SaturatedLoss(double y) => 0.0;

    /// <summary>Whether the fitted means can saturate (binomial: every probability at 0 or 1, glmnet's pmin test).</summary>
    internal virtual bool CanSaturate => false;

    /// <summary>
    /// The fraction of the convergence threshold to which the proximal-Newton path's Gram-mode coordinate descent solves
    /// each quadratic model (its passes cost O(q^2), not O(n q)), so that the Newton steps, not the inner passes, limit the
    /// accuracy. The inner rule (the largest weighted coefficient change) does not bound the model's objective error; with
    /// 0.01, poisson_path_50k_200 ends up to 3.1e-6 (relative) above glmnet's objective at thresh 1e-12 on 13 of its last 18
    /// lambdas, with 1e-4 within 1.5e-7 in fewer Newton steps (docs/benchmarks.md).
    /// </summary>
    internal virtual double NewtonInnerFactor => 0.01;

    /// <summary>
    /// k of the proximal-Newton path's lookahead (Gram mode): a feature joins the working set ahead of the strong rule when
    /// |g_j| ≥ alpha v_j (lambda − k (lambda_prev − lambda)), so the Gram matrix serves several lambdas. Every pass reads the
    /// working set's columns, while a feature outside costs one single-precision screen per lambda; with k = 2 instead of 3,
    /// poisson_path_50k_200 reads about 12% fewer bytes per fit at a similar Gram cost. Binomial keeps 3: with 2,
    /// logit_enet_path_50k_200 ends 1.06e-6 above glmnet's objective at thresh 1e-12 (lambda 53; its Newton models are solved
    /// to 0.01 of the threshold, <see cref="NewtonInnerFactor"/>), with 3 within 6.1e-7 (docs/benchmarks.md).
    /// </summary>
    internal virtual double NewtonLookahead => 3;

    /// <summary>
    /// Whether the proximal-Newton path screens outside gradients the bounds leave unsettled in single precision before
    /// computing them exactly (both of its families do). Poisson: its bounds settle few features (mu is a count), and the
    /// screen cut its exact dots from 8,761 to 443 per fit of poisson_path_50k_200 (about 14% of the path's time). Binomial:
    /// its bounds settle most, and while each fit made a fresh float copy of the columns, the copy cost more than the dots it
    /// saved (logit_enet_path_50k_200 4-10% slower in three alternating pairs); since the copy's buffer serves the next fit
    /// (<see cref="Solvers.GradientBounds.Release"/>), screening takes logit_enet_path_50k_200 from 3,332 exact outside dots
    /// and 640 screened columns to 1,086 and 3,368 (about 880 fewer double columns read), the path unchanged (2026-12-06).
    /// </summary>
    internal virtual bool ScreensInSinglePrecision => false;

    private sealed class GaussianFamily : GlmFamily
    {
        public override Family Kind => Fitting.Family.Gaussian;
        public override double Mean(double eta) => eta;
        public override double Link(double yMean) => yMean;
        public override double RowDeviance(double y, double eta) => (y - eta) * (y - eta);
        public override IReadOnlyList<ValidationMeasure> Measures { get; } = [ValidationMeasure.Mse, ValidationMeasure.Deviance, ValidationMeasure.Mae];
        public override EarlyStop Stop => EarlyStop.Relative;

        public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) =>
            RegressionMetrics.FromPredictions(y, eta, null, weights);
    }

    private sealed class BinomialFamily : GlmFamily
    {
        public override Family Kind => Fitting.Family.Binomial;
        internal override bool ScreensInSinglePrecision => true;
        public override double Mean(double eta) => Prediction.Logistic(eta);
        public override double Link(double yMean) => Math.Log(yMean / (1 - yMean));

        public override double RowDeviance(double y, double eta)
        {
            double p = Math.Clamp(1 / (1 + Math.Exp(-eta)), ProbabilityClamp, 1 - ProbabilityClamp);
            return -2 * (y * Math.Log(p) + (1 - y) * Math.Log(1 - p));
        }

        public override IReadOnlyList<ValidationMeasure> Measures { get; } =
            [ValidationMeasure.Deviance, ValidationMeasure.Class, ValidationMeasure.Auc, ValidationMeasure.Mse, ValidationMeasure.Mae];

        /// <summary>
        /// cv.lognet's rows, from p = 1/(1 + e^-eta) over the two classes' indicator columns: mse (y0 - (1 - p))^2 + (y1 - p)^2
        /// = 2 (y - p)^2, mae 2 |y - p|, class y0 [p &gt; 0.5] + y1 [p &lt;= 0.5] (p = 0.5 counts as class 0).
        /// </summary>
        public override double RowLoss(ValidationMeasure measure, double y, double eta)
        {
            double p = 1 / (1 + Math.Exp(-eta));
            return measure switch
            {
                ValidationMeasure.Mse => 2 * (y - p) * (y - p),
                ValidationMeasure.Mae => 2 * Math.Abs(y - p),
                ValidationMeasure.Class => ClassificationMetrics.PredictedClass(p) == (y == 1 ? 1 : 0) ? 0 : 1,
                _ => base.RowLoss(measure, y, eta),
            };
        }

        public override EarlyStop Stop => EarlyStop.Absolute;
        public override string? TargetFault(double y) => y is 0 or 1 ? null : $"{y} is not 0 or 1";
        internal override bool CanSaturate => true;

        public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) =>
            ClassificationMetrics.FromLinearPredictor(y, eta, weights);

        internal override double Irls(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v,
            Span<double> vmu, Span<double> w, Span<double> r)
        {
            if (v.IsEmpty) return LogisticKernels.Link(eta, y, vmu, w, r, default);
            double loss = 0;
            for (int i = 0; i < eta.Length; i++)
            {
                double vi = v[i];
                loss += vi * LogisticKernels.LinkOne(eta[i], y[i], out double p, out double wi, out double ri);
                vmu[i] = vi * p;
                w[i] = vi * wi;
                r[i] = vi * ri;
            }
            return loss;
        }

        internal override double NegativeLogLikelihood(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v)
        {
            if (v.IsEmpty) return LogisticKernels.Loss(eta, y);
            double loss = 0;
            for (int i = 0; i < eta.Length; i++) loss += v[i] * LogisticKernels.LinkOne(eta[i], y[i], out _, out _, out _);
            return loss;
        }
    }

    /// <summary>
    /// Poisson with the log link: mu = e^eta, b(eta) = e^eta, deviance 2 sum v [y log(y/mu) - (y - mu)]. As glmnet's fishnet,
    /// the exponent is clamped to ±<see cref="ExpClamp"/> (log of a tenth of the largest double) where mu is taken.
    /// </summary>
    private sealed class PoissonFamily : GlmFamily
    {
        /// <summary>glmnet's fmax = log(huge * 0.1).</summary>
        public static readonly double ExpClamp = Math.Log(double.MaxValue * 0.1);

        public override Family Kind => Fitting.Family.Poisson;
        public override double Mean(double eta) => Math.Exp(Math.Clamp(eta, -ExpClamp, ExpClamp));
        public override double Link(double yMean) => Math.Log(yMean);

        /// <summary>cv.glmnet's poisson deviance: 2 (y log y - y - y eta + e^eta), y log y = 0 at y = 0.</summary>
        public override double RowDeviance(double y, double eta) => 2 * (SaturatedLoss(y) - y * eta + Math.Exp(eta));

        public override IReadOnlyList<ValidationMeasure> Measures { get; } = [ValidationMeasure.Deviance, ValidationMeasure.Mse, ValidationMeasure.Mae];
        public override EarlyStop Stop => EarlyStop.Poisson;

        public override string? TargetFault(double y) =>
            !double.IsFinite(y) ? $"{y} is not a finite count"
            : y < 0 ? $"{y} is a negative count"
            : y != Math.Floor(y) ? $"{y} is not a whole count"
            : null;

        public override IFitMetrics FromPredictions(ReadOnlySpan<double> y, double[] eta, double[]? weights = null) =>
            PoissonMetrics.FromLinearPredictor(y, eta, weights);

        internal override double SaturatedLoss(double y) => y > 0 ? y * Math.Log(y) - y : 0.0;

        /// <summary>Tighter than binomial's 0.01: at 0.01 the last lambdas of a poisson path stop up to 3e-6 above the optimum.</summary>
        internal override double NewtonInnerFactor => 1e-4;

        internal override double NewtonLookahead => 2;

        internal override bool ScreensInSinglePrecision => true;

        internal override double Irls(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v,
            Span<double> vmu, Span<double> w, Span<double> r) => LogisticKernels.PoissonLink(eta, y, v, vmu, w, r, ExpClamp);

        internal override double NegativeLogLikelihood(ReadOnlySpan<double> eta, ReadOnlySpan<double> y, ReadOnlySpan<double> v) =>
            LogisticKernels.PoissonLoss(eta, y, v, ExpClamp);
    }
}
