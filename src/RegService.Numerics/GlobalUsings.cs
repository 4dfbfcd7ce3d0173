// The engine's own namespaces, visible in every file of the engine.
global using RegService.Numerics.Data;
global using RegService.Numerics.Fitting;
global using RegService.Numerics.Kernels;
global using RegService.Numerics.Metrics;
global using RegService.Numerics.Paths;
global using RegService.Numerics.Selection;
global using RegService.Numerics.Solvers;
global using RegService.Numerics.Training;
