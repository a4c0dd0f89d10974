using TorchSharp;
using static TorchSharp.torch;

namespace SeedExample;

/// <summary>
/// Synthetic 3×28×28 images in which both tasks have a real, learnable signal: each image shows its class's
/// smooth colour pattern under noise (classification, 10 classes), and one bright 6×6 square at a random place
/// (detection: a 7×7 grid of 35 channels; channel 0 marks the square's cell, channels 1–2 its centre within
/// the cell, the rest stay zero).
/// </summary>
public static class SyntheticVision
{
    private const int Side = 28, Grid = 7, Cell = Side / Grid, Square = 6;

    /// <summary>Makes <paramref name="count"/> samples; the same seed gives the same data.</summary>
    public static (Tensor Images, Tensor Classes, Tensor Detection) Generate(int count, int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        using var prototypesGenerator = new Generator(12345); // the classes' patterns are the same for every split
        Tensor prototypes = nn.functional.interpolate(randn(10, 3, 7, 7, generator: prototypesGenerator), size: [Side, Side], mode: InterpolationMode.Bilinear, align_corners: false);

        Tensor classes = randint(0, 10, [count], dtype: ScalarType.Int64, generator: generator);
        Tensor images = prototypes.index([classes]) * 0.25 + randn(count, 3, Side, Side, generator: generator);

        Tensor top = randint(0, Side - Square + 1, [count, 1, 1], dtype: ScalarType.Int64, generator: generator);
        Tensor left = randint(0, Side - Square + 1, [count, 1, 1], dtype: ScalarType.Int64, generator: generator);
        Tensor position = arange(Side, dtype: ScalarType.Int64);
        Tensor rows = position.view(1, Side, 1), columns = position.view(1, 1, Side);
        Tensor square = (rows.ge(top) & rows.lt(top + Square) & columns.ge(left) & columns.lt(left + Square)).to_type(ScalarType.Float32);
        images = images + 2.0 * square.unsqueeze(1);

        Tensor centreRow = top + Square / 2, centreColumn = left + Square / 2;
        Tensor cell = (centreRow.div(Cell, rounding_mode: RoundingMode.floor) * Grid + centreColumn.div(Cell, rounding_mode: RoundingMode.floor)).view(count);
        Tensor objectness = nn.functional.one_hot(cell, Grid * Grid).to_type(ScalarType.Float32).view(count, 1, Grid, Grid);
        Tensor offsetRow = (centreRow.remainder(Cell).to_type(ScalarType.Float32) / Cell).view(count, 1, 1, 1);
        Tensor offsetColumn = (centreColumn.remainder(Cell).to_type(ScalarType.Float32) / Cell).view(count, 1, 1, 1);
        Tensor detection = cat([objectness, objectness * offsetRow, objectness * offsetColumn, zeros(count, 32, Grid, Grid)], 1);

        return (images.MoveToOuterDisposeScope(), classes.MoveToOuterDisposeScope(), detection.MoveToOuterDisposeScope());
    }
}
