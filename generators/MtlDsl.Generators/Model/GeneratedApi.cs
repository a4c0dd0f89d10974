using System;
using System.Collections.Generic;
using System.Linq;

namespace MtlDsl.Generators.Model;

/// <summary>
/// The API the generator declares on every model (its fixed member names, the members of its records): what the
/// emitter writes, and what validation keeps a user's names from colliding with. Neither calls the other for it.
/// </summary>
internal static class GeneratedApi
{
        /// <summary>
        /// Every member the emitter declares on the model class under a fixed name (its public API and overrides), what
        /// it is, and the task it is made for (null for the others): neither a user's member nor a block may take these
        /// names, nor the class itself, and none may hide an inherited one. The private members take names that avoid
        /// the user's (<see cref="Emit.GeneratedNames"/>).
        /// </summary>
        public static IEnumerable<(string Name, string What, BlockSpec? Owner)> DeclaredMembers(ModelSpec model)
        {
            foreach (string record in new[] { "Outputs", "Targets", "Losses", "LossValues" })
                yield return (record, $"record {record}", null);
            if (model.NamedInputs) yield return ("Inputs", "record Inputs", null);
            foreach (string property in new[] { "Summary", "TaskDefinitions", "Tasks", "InputShape", "Architecture", "SharedModules", "InputDefinitions", "DeclaredInputs", "NetworkPlan" })
                yield return (property, $"property {property}", null);
            foreach (string constant in new[] { "TaskCount", "ParameterCount" })
                yield return (constant, $"constant {constant}", null);
            foreach (string method in new[] { "ComputeLoss", "CreateTrainer", "RunShared", "RunHead", "forward" })
                yield return (method, $"method {method}", null);
            yield return (".ctor()", "parameterless constructor", null);
            foreach (BlockSpec block in model.Blocks.Where(b => b.Kind == BlockKind.Task))
                yield return ($"Forward{block.Name}", $"method Forward{block.Name} of task '{block.Name}'", block);
        }

        /// <summary>
        /// The members of the generated records, by name: a task or an input, which becomes a record property, must not
        /// take these (C# gives every record the object and record members; the rest are MtlDsl's API). A property
        /// called Item is no clash: the indexer then takes another metadata name.
        /// </summary>
        public static readonly Dictionary<string, string> RecordMembers = new(StringComparer.Ordinal)
        {
            ["Total"] = "of the generated Losses and LossValues records",
            ["Count"] = "of the generated Outputs, Targets and Inputs records",
            ["Create"] = "of the generated Outputs, Targets and LossValues records",
            ["TaskNames"] = "of the generated Outputs and Targets records",
            ["EqualityContract"] = "of every generated record",
            ["Equals"] = "of every generated record",
            ["GetHashCode"] = "of every generated record",
            ["ToString"] = "of every generated record",
            ["Deconstruct"] = "of every generated record",
            ["PrintMembers"] = "of every generated record",
            ["GetType"] = "of every generated record",
            ["MemberwiseClone"] = "of every generated record (inherited from object)",
            ["ReferenceEquals"] = "of every generated record (inherited from object)",
            ["Finalize"] = "of every generated record (inherited from object)",
        };
}
