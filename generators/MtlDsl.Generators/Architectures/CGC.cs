using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MtlDsl.Generators.Emit;
using MtlDsl.Generators.Model;
using MtlDsl.Generators.Shapes;

namespace MtlDsl.Generators.Architectures;

/// <summary>
/// Customized gate control, <c>[CGC(sharedExperts, taskExperts)]</c> or one count per task: copies of the whole trunk
/// as shared experts and as every task's own; each task's gate on the input (<c>gates.{task}</c>) mixes the shared
/// experts and the task's own into what its head reads.
/// </summary>
internal sealed class CGC : Experts
{
    public override ModelArchitecture Kind => ModelArchitecture.CGC;

    public override ArchitectureSpec Read(AttributeArguments arguments, AttributeData attribute, AttributeSyntax? syntax) =>
        ReadSharedAndTaskExperts(arguments, attribute, syntax);

    public override IEnumerable<DiagnosticInfo> Validate(ModelSpec model, ArchitectureSpec spec, IReadOnlyList<BlockSpec> tasks) =>
        ValidateSharedAndTaskExperts(model, spec, tasks);

    public override ShapedArchitecture? Infer(ModelSpec model, IReadOnlyList<ShapedBlock> trunk, List<DiagnosticInfo> diagnostics) =>
        InferTaskGates(model, model.Architecture, trunk);

    public override IEnumerable<(string Field, string Type, string State)> Fields(ArchitectureSpec spec) => [TaskGatesField];

    public override IEnumerable<string> Registration(ArchitectureCode code) => [TaskGatesRegistration(code)];

    public override void EmitRepresentations(SourceWriter w, ArchitectureCode code) => EmitTaskGatesRepresentations(w, code);
}
