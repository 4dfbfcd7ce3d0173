using System;
using System.IO;
using System.Linq;
using System.Threading;
// A/B timing of engine kernels in two builds: thread CPU time per call of DenseKernels.Multiply (the MLP's products, the
// shapes of mlp_epoch_50k_200_64), an adamW update (OptimizerKernels) and, with "eigen", SymmetricEigen.Decompose at k = 300,
// from the RegService.Numerics.dll given (take the one in tests/RegService.Benchmarks/bin/Release/net10.0: its dependencies
// are beside it). Run old and new builds alternately (run.sh); checksums equal means the same bits.
//   dotnet kernel-ab.dll <path to RegService.Numerics.dll> <reps> [eigen]
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

unsafe
{
    AssemblyLoadContext.Default.Resolving += (ctx, name) =>
    {
        var f = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(args[0]))!, name.Name + ".dll");
        return File.Exists(f) ? ctx.LoadFromAssemblyPath(f) : null;
    };
    var asm = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(args[0]));
    int reps = int.Parse(args[1]);
    if (args.Length > 2 && args[2] == "eigen") { Eigen(asm, reps); return; }
    var type = asm.GetType("RegService.Numerics.Kernels.DenseKernels", true)!;
    var multiply = type.GetMethod("Multiply", BindingFlags.Public | BindingFlags.Static)!;
    var pathType = asm.GetType("RegService.Numerics.Kernels.KernelPath", true)!;
    object auto = Enum.ToObject(pathType, 0);
    // The MLP epoch's shapes (batch 200, p 200, 64 hidden units): forward X W0 (200 x 200 times 200 x 64), the output layer
    // (a dot per row: 200 x 64 times 64 x 1), the weight gradient X' delta (200 x 200 transposed times 200 x 64), and 60 hidden
    // units (4 x 32 + 4 x 8 + 4 x 4 tiles on Vector512, 4 x 4 on Vector256).
    (string Name, int Rows, int Cols, int Depth, bool Transposed)[] shapes =
        [("forward_200x64x200", 200, 64, 200, false), ("output_200x1x64", 200, 1, 64, false),
         ("gradient_200x64x200T", 200, 64, 200, true), ("forward_200x60x200", 200, 60, 200, false)];
    var rng = new Random(1);
    foreach (var (name, rows, cols, depth, transposed) in shapes)
    {
        var a = new double[rows * depth]; var b = new double[depth * cols]; var c = new double[rows * cols]; var bias = new double[cols];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() - 0.5;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextDouble() - 0.5;
        fixed (double* pa = a, pb = b, pc = c, pbias = bias)
        {
            nint aRow = transposed ? 1 : depth, aCol = transposed ? rows : 1;
            object[] call = [Pointer.Box(pa, typeof(double*)), aRow, aCol, Pointer.Box(pb, typeof(double*)), (nint)cols,
                Pointer.Box(pc, typeof(double*)), (nint)cols, rows, cols, depth, Pointer.Box(pbias, typeof(double*)), false, true, auto];
            var (best, mean) = PerCall(() => multiply.Invoke(null, call), reps);
            double check = 0; foreach (double v in c) check += v;
            Console.WriteLine($"{name} best_us={best * 1e6:F2} mean_us={mean * 1e6:F2} checksum={check:R}");
        }
    }
    Optimizer(asm, reps);
}

static unsafe void Optimizer(Assembly asm, int reps)
{
    // adamW on 200 x 64 + 64 parameters (the first layer of the MLP epoch), per update.
    var constantsType = asm.GetType("RegService.Numerics.Training.StepConstants", true)!;
    var stepType = asm.GetType("RegService.Numerics.Training.AdamStep", true)!;
    var blockType = asm.GetType("RegService.Numerics.Training.ParameterBlock", true)!;
    var kernels = asm.GetType("RegService.Numerics.Training.OptimizerKernels", true)!;
    object k = constantsType.GetMethod("At")!.Invoke(null, [7L, 0.001, 0.01])!;
    object step = stepType.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)[0].Invoke([k, true]);
    var update = kernels.GetMethods(BindingFlags.Public | BindingFlags.Static).First(m => m.Name == "Update" && m.GetParameters().Length == 2).MakeGenericMethod(stepType);
    int n = 200 * 64 + 64;
    var arrays = Enumerable.Range(0, 7).Select(a => Enumerable.Range(0, n).Select(i => 0.01 * ((i * 7 + a) % 13 - 6)).ToArray()).ToArray();
    for (int i = 0; i < n; i++) { arrays[3][i] = Math.Abs(arrays[3][i]); arrays[6][i] = i % 65 == 64 ? 0 : 1; }
    fixed (double* w = arrays[0], g = arrays[1], m = arrays[2], v = arrays[3], l2 = arrays[4], l1 = arrays[5], d = arrays[6])
    {
        for (int i = 0; i < n; i++) { l2[i] = Math.Abs(l2[i]); l1[i] = Math.Abs(l1[i]) * 0.01; }
        object block = blockType.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)[0].Invoke(
            [Pointer.Box(w, typeof(double*)), Pointer.Box(g, typeof(double*)), Pointer.Box(m, typeof(double*)), Pointer.Box(v, typeof(double*)),
             Pointer.Box(l2, typeof(double*)), Pointer.Box(l1, typeof(double*)), Pointer.Box(d, typeof(double*)), n]);
        object[] call = [step, block];
        var (best, mean) = PerCall(() => update.Invoke(null, call), reps);
        double check = 0; for (int i = 0; i < n; i++) check += w[i];
        Console.WriteLine($"adamw_12864 best_us={best * 1e6:F2} mean_us={mean * 1e6:F2} checksum={check:R}");
    }
}

static void Eigen(Assembly asm, int reps)
{
    // SymmetricEigen.Decompose of a k x k Gram matrix (k = 300): thread CPU seconds per decomposition.
    var decompose = asm.GetType("RegService.Numerics.Solvers.SymmetricEigen", true)!.GetMethod("Decompose", BindingFlags.Public | BindingFlags.Static)!;
    int k = 300, n = 400;
    var rng = new Random(3);
    var z = new double[n * k];
    for (int i = 0; i < z.Length; i++) z[i] = rng.NextDouble() - 0.5;
    var a = new double[k * k];
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++) { double s = 0; for (int r = 0; r < n; r++) s += z[r * k + i] * z[r * k + j]; a[i * k + j] = a[j * k + i] = s / n; }
    double best = double.MaxValue, sum = 0, check = 0;
    for (int r = 0; r < reps + 1; r++)
    {
        var w = (double[])a.Clone();
        double t0 = ThreadCpu();
        var values = (double[])decompose.Invoke(null, [w, k, CancellationToken.None])!;
        double t = ThreadCpu() - t0;
        if (r > 0) { best = Math.Min(best, t); sum += t; }
        check = values.Sum() + w[0];
    }
    Console.WriteLine($"eigen_300 best_ms={best * 1e3:F2} mean_ms={sum / reps * 1e3:F2} checksum={check:R}");
}

// Thread CPU seconds per call: 50 calls to warm up, then reps batches of 200; the best and the mean batch.
static (double Best, double Mean) PerCall(Action call, int reps)
{
    for (int i = 0; i < 50; i++) call();
    double best = double.MaxValue, sum = 0;
    for (int r = 0; r < reps; r++)
    {
        double t0 = ThreadCpu();
        for (int i = 0; i < 200; i++) call();
        double t = (ThreadCpu() - t0) / 200;
        best = Math.Min(best, t);
        sum += t;
    }
    return (best, sum / reps);
}

static unsafe double ThreadCpu()
{
    Timespec ts;
    clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, &ts);
    return ts.Sec + ts.Nsec * 1e-9;
}

[DllImport("libc")] static extern unsafe int clock_gettime(int clock, Timespec* ts);
struct Timespec { public long Sec; public long Nsec; }
