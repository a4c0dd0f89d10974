// The generator's former name of the runtime's ModelArchitecture (Shared/ModelArchitecture.cs, compiled from
// src/MtlDsl): Emit/PyTorchEmitter.cs still uses it, and is being moved to the runtime. Delete this file with it.
global using ArchitectureKind = MtlDsl.ModelArchitecture;
