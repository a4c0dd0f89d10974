using System.Buffers.Binary;
using System.Text;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MtlDsl.Checkpoints;

/// <summary>
/// Reads an optimizer state written by TorchSharp's <c>save_state_dict</c> without loading it, and checks it against
/// the optimizer that is to load it: its type, every parameter group's options and every parameter's state tensors
/// (dtype, shape, finite values). TorchSharp's own loader checks little (a conditional state tensor of any shape is
/// taken as it is) and throws half-way through; this check runs before anything is loaded.
/// </summary>
/// <remarks>
/// TorchSharp's format is not self-describing, so only the optimizers whose layout is written out here are checked
/// field by field: Adam, AdamW and SGD (TorchSharp's and MtlDsl's). Any other is checked by loading it inside the
/// checkpoint's transaction, which restores everything if the load fails or leaves bytes unread.
/// </remarks>
internal static class OptimizerStateCheck
{
    private enum Layout { Adam, Sgd }

    /// <summary>Whether <paramref name="optimizer"/>'s state layout is known here (and so checked before loading).</summary>
    public static bool Knows(optim.Optimizer optimizer) => LayoutOf(optimizer) is not null;

    private static Layout? LayoutOf(optim.Optimizer optimizer) => optimizer switch
    {
        Adam or AdamW => Layout.Adam,
        SGD => Layout.Sgd,
        _ => null,
    };

    /// <summary>Checks <paramref name="bytes"/>; <paramref name="invalid"/> makes the error from what was expected.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a state this optimizer can load.</exception>
    public static void Check(optim.Optimizer optimizer, ReadOnlySpan<byte> bytes, Func<string, InvalidDataException> invalid)
    {
        Layout layout = LayoutOf(optimizer) ?? throw new InvalidOperationException($"No known state layout for {optimizer.GetType().Name}.");
        var reader = new Reader(bytes, invalid);
        string name = optimizer.GetType().Name;
        string written = reader.String("the optimizer's type name");
        if (written != name) throw invalid($"is the state of the optimizer {written}; expected {name}");
        ParamGroup[] groups = optimizer.ParamGroups.Cast<ParamGroup>().ToArray();
        Parameter[][] parameters = groups.Select(g => g.Parameters.ToArray()).ToArray();
        int parameterCount = parameters.Sum(p => p.Length);
        long groupCount = reader.Count("the number of parameter groups");
        if (groupCount != groups.Length) throw invalid($"has {groupCount} parameter groups; expected this optimizer's {groups.Length}");
        long stateCount = reader.Count("the number of parameter states");
        if (stateCount != parameterCount) throw invalid($"has the states of {stateCount} parameters; expected this optimizer's {parameterCount}");

        var amsgrad = new bool[groups.Length];
        for (int g = 0; g < groups.Length; g++)
        {
            string group = $"parameter group {g}";
            reader.Rate($"{group}'s initial learning rate");
            reader.Rate($"{group}'s learning rate");
            if (layout == Layout.Adam)
            {
                reader.Fraction($"{group}'s beta1");
                reader.Fraction($"{group}'s beta2");
                reader.Rate($"{group}'s eps");
                reader.Rate($"{group}'s weight decay");
                amsgrad[g] = reader.Boolean($"{group}'s amsgrad");
                reader.Boolean($"{group}'s maximize");
            }
            else
            {
                reader.Rate($"{group}'s momentum");
                reader.Finite($"{group}'s dampening");
                reader.Rate($"{group}'s weight decay");
                reader.Boolean($"{group}'s nesterov");
                reader.Boolean($"{group}'s maximize");
            }
        }

        int index = 0;
        for (int g = 0; g < groups.Length; g++)
        {
            foreach (Parameter parameter in parameters[g])
            {
                string state = $"the state of parameter {index} ({Shape(parameter.shape)} {parameter.dtype}, group {g})";
                if (layout == Layout.Adam)
                {
                    long step = reader.Int64($"{state}'s step");
                    if (step < 0) throw invalid($"{state}'s step is {step}; expected a count ≥ 0");
                    reader.Tensor(parameter, $"{state}'s exp_avg");
                    reader.Tensor(parameter, $"{state}'s exp_avg_sq");
                    bool hasMax = reader.Boolean($"{state}'s max_exp_avg_sq flag");
                    if (hasMax) reader.Tensor(parameter, $"{state}'s max_exp_avg_sq");
                    else if (amsgrad[g]) throw invalid($"{state} has no max_exp_avg_sq although its group uses amsgrad");
                }
                else if (reader.Boolean($"{state}'s momentum_buffer flag"))
                {
                    reader.Tensor(parameter, $"{state}'s momentum_buffer");
                }
                index++;
            }
        }
        if (reader.Remaining > 0) throw invalid($"{reader.Remaining} bytes follow the last parameter's state; expected none");
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    // Reads the primitives of .NET's BinaryWriter and TorchSharp's LEB128 counts and tensors, every read bounded.
    private ref struct Reader(ReadOnlySpan<byte> bytes, Func<string, InvalidDataException> invalid)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly int Remaining => _bytes.Length - _position;

        private ReadOnlySpan<byte> Take(long count, string what)
        {
            if (count < 0 || count > Remaining) throw invalid($"ends inside {what} (truncated)");
            ReadOnlySpan<byte> taken = _bytes.Slice(_position, (int)count);
            _position += (int)count;
            return taken;
        }

        public double Double(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

        public long Int64(string what) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, what));

        public double Finite(string what)
        {
            double value = Double(what);
            return double.IsFinite(value) ? value : throw invalid($"{what} is {value}; expected a finite number");
        }

        public double Rate(string what)
        {
            double value = Double(what);
            return double.IsFinite(value) && value >= 0 ? value : throw invalid($"{what} is {value}; expected a finite number ≥ 0");
        }

        public double Fraction(string what)
        {
            double value = Double(what);
            return value is >= 0 and < 1 ? value : throw invalid($"{what} is {value}; expected a number in [0, 1)");
        }

        public bool Boolean(string what) => Take(1, what)[0] switch
        {
            0 => false,
            1 => true,
            byte other => throw invalid($"{what} is the byte {other}; expected 0 or 1"),
        };

        // LEB128, as TorchSharp writes counts, dtypes and dimensions: at most 9 bytes for a non-negative long.
        public long Count(string what)
        {
            long value = 0;
            for (int shift = 0; shift < 63; shift += 7)
            {
                byte b = Take(1, what)[0];
                value |= (long)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return value;
            }
            throw invalid($"{what} is not a LEB128 count below 2^63");
        }

        // A 7-bit encoded length and UTF-8 bytes, as BinaryWriter.Write(string) writes them.
        public string String(string what)
        {
            int length = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (shift > 28) throw invalid($"{what} has no valid length");
                byte b = Take(1, what)[0];
                length |= (b & 0x7F) << shift;
                if ((b & 0x80) == 0) break;
            }
            if (length > 1024) throw invalid($"{what} claims {length} bytes; expected a type name");
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length, what));
            }
            catch (DecoderFallbackException)
            {
                throw invalid($"{what} is not UTF-8");
            }
        }

        // A tensor as TorchSharp saves it (dtype, rank, dimensions, raw bytes), of the parameter's dtype and shape, finite.
        public void Tensor(Parameter parameter, string what)
        {
            long dtype = Count($"{what}'s dtype");
            if (dtype != (long)parameter.dtype) throw invalid($"{what} has dtype {(ScalarType)dtype}; expected the parameter's {parameter.dtype}");
            long rank = Count($"{what}'s rank");
            if (rank != parameter.shape.Length) throw invalid($"{what} has {rank} dimensions; expected the parameter's shape {Shape(parameter.shape)}");
            var shape = new long[rank];
            for (int d = 0; d < rank; d++) shape[d] = Count($"{what}'s dimension {d}");
            if (!shape.SequenceEqual(parameter.shape)) throw invalid($"{what} has the shape {Shape(shape)}; expected the parameter's {Shape(parameter.shape)}");
            ReadOnlySpan<byte> values = Take(checked(parameter.numel() * parameter.ElementSize), what);
            long bad = RawValues.FirstNonFinite(values, parameter.dtype);
            if (bad >= 0) throw invalid($"{what} holds a NaN or infinite value at element {bad}; expected finite values");
        }
    }
}
