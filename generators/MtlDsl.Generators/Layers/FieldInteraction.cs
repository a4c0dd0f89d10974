using System.Globalization;
using static MtlDsl.Generators.Layers.Literals;

namespace MtlDsl.Generators.Layers;

/// <summary>
/// What the layers over field embeddings <c>[F, K]</c> share (FactorizationMachine, InnerProduct): the input check,
/// with the way to get there from what the block has, and their home, MtlDsl's PyTorch support file.
/// </summary>
internal abstract class FieldInteraction : LayerDefinition
{
    public override LayerFamily Family => LayerFamily.Interaction;

    public override PyTorchHome Home => PyTorchHome.MtlDslTorch;

    /// <summary>Whether the input is <c>[F, K]</c> with F ≥ 2; else MTL005 with the way to get there. F and K when it is.</summary>
    protected static (int Fields, int Dimension)? Fields(LayerContext layer)
    {
        var input = layer.Input;
        const string expected = "field embeddings [F, K] (F ≥ 2 fields of K values)";
        if (input.Count == 2 && input[0] >= 2) return (input[0], input[1]);
        string hint = input.Count switch
        {
            2 => $"; one field has no other to interact with: concatenate the embeddings of several fields ([Concat]) before it",
            1 => $"; to read [{I(input[0])}] as F fields of K values, insert [Unflatten(F, K)] before it (F·K = {I(input[0])}), " +
                 "or concatenate embeddings of shape [1, K] (an Embedding of ids [1]) with [Concat]",
            _ => "",
        };
        layer.Mismatch(expected, hint);
        return null;
    }

    /// <summary>F(F − 1)/2, the number of pairs of F fields.</summary>
    protected static long PairCount(int fields) => (long)fields * (fields - 1) / 2;

    protected static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);
}
