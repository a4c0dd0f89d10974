using System;
using System.Collections.Generic;
using System.Globalization;
using MtlDsl.Generators.Layers;
using MtlDsl.Generators.Model;

namespace MtlDsl.Generators.Shapes;

/// <summary>
/// Evaluates a static OutputShape method's formula (<see cref="ShapeExpr"/>) for an input shape by C#'s rules: each
/// value has its C# type, integer and floating arithmetic are the operator's operand type's, conversions narrow and
/// check as the cast says, and what throws in C# (checked overflow, division by zero, an index out of range) is a
/// problem here. The operations are computed with the CLR's own operators on values of those types, so the result is
/// the one the method returns when the model runs.
/// </summary>
internal static class ShapeFormula
{
    /// <summary>The shape a formula gives for an input shape, or the reason it cannot.</summary>
    public static (int[]? Shape, string? Problem) Evaluate(OwnModule module, IReadOnlyList<int> input)
    {
        if (module.FormulaIsInput) return (ToArray(input), null);
        try
        {
            var locals = new Number[module.Locals.Count];
            var context = new Context(input, locals);
            // Locals in the order they are declared: one that throws throws even where it is not used.
            for (int l = 0; l < locals.Length; l++) locals[l] = context.Value(module.Locals[l]);
            // Every size, as C# computes the whole array before it returns (a later one may throw), then their check.
            var shape = new int[module.Formula.Count];
            for (int d = 0; d < shape.Length; d++) shape[d] = (int)context.Value(module.Formula[d]).Bits;
            for (int d = 0; d < shape.Length; d++)
                if (shape[d] < 1)
                    return (null, $"it computes {shape[d].ToString(CultureInfo.InvariantCulture)} for dimension {d.ToString(CultureInfo.InvariantCulture)}, and every size must be a positive int");
            return (shape, null);
        }
        catch (FormulaException e)
        {
            return (null, e.Message);
        }
        catch (DivideByZeroException)
        {
            return (null, "it divides by zero for this input (an integer division or remainder, where C# throws DivideByZeroException)");
        }
        catch (OverflowException)
        {
            return (null, "it overflows for this input where C# throws OverflowException (a checked operation or conversion out of its type's range, " +
                          "the smallest int or long divided by -1, or Math.Abs of it)");
        }
    }

    /// <summary>A constant of the CLR type it is (a boxed int is an int), or null for what a formula does not compute with.</summary>
    public static ConstantExpr? ConstantOf(object? value) => value switch
    {
        bool b => new ConstantExpr(NumberType.Boolean, b ? 1 : 0),
        char c => new ConstantExpr(NumberType.Char, c),
        sbyte n => new ConstantExpr(NumberType.SByte, n),
        byte n => new ConstantExpr(NumberType.Byte, n),
        short n => new ConstantExpr(NumberType.Int16, n),
        ushort n => new ConstantExpr(NumberType.UInt16, n),
        int n => new ConstantExpr(NumberType.Int32, n),
        uint n => new ConstantExpr(NumberType.UInt32, n),
        long n => new ConstantExpr(NumberType.Int64, n),
        ulong n => new ConstantExpr(NumberType.UInt64, unchecked((long)n)),
        float f => new ConstantExpr(NumberType.Single, BitConverter.DoubleToInt64Bits(f)),
        double d => new ConstantExpr(NumberType.Double, BitConverter.DoubleToInt64Bits(d)),
        _ => null,
    };

    /// <summary>
    /// A constant converted to a type as C# converts an argument to its parameter (unchecked, as an implicit
    /// conversion never overflows), or null where the two do not convert (bool and a number).
    /// </summary>
    public static ConstantExpr? Implicitly(ConstantExpr constant, NumberType type)
    {
        if (constant.Type == type) return constant;
        if (constant.Type == NumberType.Boolean || type == NumberType.Boolean) return null;
        try
        {
            Number value = Number.Convert(Number.Of(constant), type, isChecked: false);
            return new ConstantExpr(type, Number.IsFloating(type) ? BitConverter.DoubleToInt64Bits(value.Real) : value.Bits);
        }
        catch (FormulaException)
        {
            return null;
        }
    }

    private static int[] ToArray(IReadOnlyList<int> input)
    {
        var copy = new int[input.Count];
        for (int i = 0; i < copy.Length; i++) copy[i] = input[i];
        return copy;
    }

    /// <summary>A problem of the formula for the input at hand.</summary>
    private sealed class FormulaException(string message) : Exception(message);

    private sealed class Context(IReadOnlyList<int> input, Number[] locals)
    {
        public Number Value(ShapeExpr expression)
        {
            switch (expression)
            {
                case ConstantExpr c:
                    return Number.Of(c);
                case DimensionExpr d:
                {
                    Number index = Value(d.Index);
                    bool inRange = Number.IsUnsigned(index.Type) ? (ulong)index.Bits < (ulong)input.Count : index.Bits >= 0 && index.Bits < input.Count;
                    if (!inRange)
                        throw new FormulaException($"it reads input[{index}], but the input {Literals.Shape(input)} has {input.Count.ToString(CultureInfo.InvariantCulture)} dimensions");
                    return Number.Integral(NumberType.Int32, input[(int)index.Bits]);
                }
                case RankExpr:
                    return Number.Integral(NumberType.Int32, input.Count);
                case LocalExpr l:
                    return locals[l.Index];
                case ConvertExpr c:
                    return Number.Convert(Value(c.Operand), c.Type, c.Checked);
                case UnaryExpr u:
                    return Number.Unary(u.Operator, Value(u.Operand), u.Checked);
                case BinaryExpr { Operator: "&&" } b:
                    return Number.Boolean(Value(b.Left).Bits != 0 && Value(b.Right).Bits != 0);
                case BinaryExpr { Operator: "||" } b:
                    return Number.Boolean(Value(b.Left).Bits != 0 || Value(b.Right).Bits != 0);
                case BinaryExpr b:
                    return Number.Binary(b.Operator, Value(b.Left), Value(b.Right), b.Checked);
                case ConditionalExpr c:
                    return Value(c.Condition).Bits != 0 ? Value(c.WhenTrue) : Value(c.WhenFalse);
                case MathExpr m:
                {
                    var arguments = new Number[m.Arguments.Count];
                    for (int i = 0; i < arguments.Length; i++) arguments[i] = Value(m.Arguments[i]);
                    return Number.Math(m.Method, arguments, m.Type);
                }
                default:
                    throw new FormulaException("it uses an expression the generator does not know");
            }
        }
    }

    /// <summary>
    /// A value of one of C#'s simple types: integral ones (bool and char too) as their value sign- or zero-extended
    /// to 64 bits, float and double as a double (a float's value is exact in one).
    /// </summary>
    private readonly struct Number
    {
        public readonly NumberType Type;
        public readonly long Bits;
        public readonly double Real;

        private Number(NumberType type, long bits, double real)
        {
            Type = type;
            Bits = bits;
            Real = real;
        }

        public static Number Integral(NumberType type, long bits) => new(type, bits, 0);

        public static Number Boolean(bool value) => new(NumberType.Boolean, value ? 1 : 0, 0);

        private static Number Floating(NumberType type, double value) => new(type, 0, type == NumberType.Single ? (float)value : value);

        private static Number I32(int value) => Integral(NumberType.Int32, value);
        private static Number U32(uint value) => Integral(NumberType.UInt32, value);
        private static Number I64(long value) => Integral(NumberType.Int64, value);
        private static Number U64(ulong value) => Integral(NumberType.UInt64, unchecked((long)value));
        private static Number F32(float value) => new(NumberType.Single, 0, value);
        private static Number F64(double value) => new(NumberType.Double, 0, value);

        public static Number Of(ConstantExpr constant) => IsFloating(constant.Type)
            ? Floating(constant.Type, BitConverter.Int64BitsToDouble(constant.Bits))
            : Integral(constant.Type, constant.Bits);

        public static bool IsFloating(NumberType type) => type is NumberType.Single or NumberType.Double;

        public static bool IsUnsigned(NumberType type) => type is NumberType.Char or NumberType.Byte or NumberType.UInt16 or NumberType.UInt32 or NumberType.UInt64 or NumberType.Boolean;

        public override string ToString() => IsFloating(Type) ? Real.ToString("R", CultureInfo.InvariantCulture)
            : IsUnsigned(Type) ? ((ulong)Bits).ToString(CultureInfo.InvariantCulture) : Bits.ToString(CultureInfo.InvariantCulture);

        private static (decimal Min, decimal Max) Range(NumberType type) => type switch
        {
            NumberType.SByte => (sbyte.MinValue, sbyte.MaxValue),
            NumberType.Byte => (byte.MinValue, byte.MaxValue),
            NumberType.Int16 => (short.MinValue, short.MaxValue),
            NumberType.UInt16 or NumberType.Char => (ushort.MinValue, ushort.MaxValue),
            NumberType.Int32 => (int.MinValue, int.MaxValue),
            NumberType.UInt32 => (uint.MinValue, uint.MaxValue),
            NumberType.Int64 => (long.MinValue, long.MaxValue),
            _ => (ulong.MinValue, ulong.MaxValue),
        };

        // The 64-bit pattern truncated to the type and extended back as the type extends it: C#'s unchecked conversion.
        private static long Truncate(ulong bits, NumberType type) => unchecked(type switch
        {
            NumberType.SByte => (sbyte)bits,
            NumberType.Byte => (byte)bits,
            NumberType.Int16 => (short)bits,
            NumberType.UInt16 or NumberType.Char => (ushort)bits,
            NumberType.Int32 => (int)bits,
            NumberType.UInt32 => (uint)bits,
            _ => (long)bits,
        });

        /// <summary>C#'s numeric conversion (implicit or explicit) of the value to the type, checked or not.</summary>
        public static Number Convert(Number value, NumberType target, bool isChecked)
        {
            if (value.Type == target) return value;
            if (value.Type == NumberType.Boolean || target == NumberType.Boolean)
                throw new FormulaException($"it converts between bool and {target}, which C# does not");
            bool unsigned = IsUnsigned(value.Type);
            if (!IsFloating(value.Type))
            {
                if (target == NumberType.Single) return F32(unsigned ? (float)(ulong)value.Bits : value.Bits);
                if (target == NumberType.Double) return F64(unsigned ? (double)(ulong)value.Bits : value.Bits);
                if (isChecked)
                {
                    decimal exact = unsigned ? (ulong)value.Bits : value.Bits;
                    var (min, max) = Range(target);
                    if (exact < min || exact > max) throw new OverflowException();
                }
                return Integral(target, Truncate(unchecked((ulong)value.Bits), target));
            }
            if (IsFloating(target)) return Floating(target, value.Real);
            // Floating to integral: toward zero; out of the type's range it throws if checked and is unspecified if not.
            double whole = System.Math.Truncate(value.Real);
            bool inRange = target == NumberType.UInt64 ? whole >= 0 && whole < 18446744073709551616.0
                : target == NumberType.Int64 ? whole >= -9223372036854775808.0 && whole < 9223372036854775808.0
                : whole >= (double)Range(target).Min && whole <= (double)Range(target).Max;
            if (!inRange)
            {
                if (isChecked) throw new OverflowException();
                throw new FormulaException($"it converts {value} to {Keyword(target)} in an unchecked context, and that value is outside {Keyword(target)}'s range, " +
                                           "where C# leaves the result unspecified (it differs between platforms); convert it checked((" + Keyword(target) + ")…), or keep it in range");
            }
            return Integral(target, target == NumberType.UInt64 ? unchecked((long)(ulong)whole) : (long)whole);
        }

        /// <summary>The type's C# keyword.</summary>
        public static string Keyword(NumberType type) => type switch
        {
            NumberType.Boolean => "bool", NumberType.Char => "char", NumberType.SByte => "sbyte", NumberType.Byte => "byte",
            NumberType.Int16 => "short", NumberType.UInt16 => "ushort", NumberType.Int32 => "int", NumberType.UInt32 => "uint",
            NumberType.Int64 => "long", NumberType.UInt64 => "ulong", NumberType.Single => "float", _ => "double",
        };

        public static Number Unary(string op, Number value, bool isChecked)
        {
            switch (op, value.Type)
            {
                case ("+", _): return value;
                case ("!", NumberType.Boolean): return Boolean(value.Bits == 0);
                case ("-", NumberType.Int32): return I32(isChecked ? checked(-(int)value.Bits) : unchecked(-(int)value.Bits));
                case ("-", NumberType.Int64): return I64(isChecked ? checked(-value.Bits) : unchecked(-value.Bits));
                case ("-", NumberType.Single): return F32(-(float)value.Real);
                case ("-", NumberType.Double): return F64(-value.Real);
                case ("~", NumberType.Int32): return I32(~(int)value.Bits);
                case ("~", NumberType.UInt32): return U32(~(uint)value.Bits);
                case ("~", NumberType.Int64): return I64(~value.Bits);
                case ("~", NumberType.UInt64): return U64(~(ulong)value.Bits);
                default: throw new FormulaException($"it applies {op} to a {Keyword(value.Type)}, which the generator does not evaluate");
            }
        }

        public static Number Binary(string op, Number left, Number right, bool isChecked)
        {
            switch (left.Type)
            {
                case NumberType.Int32:
                {
                    int a = (int)left.Bits, b = (int)right.Bits;
                    return op switch
                    {
                        "+" => I32(isChecked ? checked(a + b) : unchecked(a + b)),
                        "-" => I32(isChecked ? checked(a - b) : unchecked(a - b)),
                        "*" => I32(isChecked ? checked(a * b) : unchecked(a * b)),
                        "/" => I32(a / b),
                        "%" => I32(a % b),
                        "&" => I32(a & b),
                        "|" => I32(a | b),
                        "^" => I32(a ^ b),
                        "<<" => I32(a << b),
                        ">>" => I32(a >> b),
                        ">>>" => I32(a >>> b),
                        _ => Compare(op, a.CompareTo(b)),
                    };
                }
                case NumberType.UInt32:
                {
                    uint a = (uint)left.Bits, b = (uint)right.Bits;
                    int shift = (int)right.Bits;
                    return op switch
                    {
                        "+" => U32(isChecked ? checked(a + b) : unchecked(a + b)),
                        "-" => U32(isChecked ? checked(a - b) : unchecked(a - b)),
                        "*" => U32(isChecked ? checked(a * b) : unchecked(a * b)),
                        "/" => U32(a / b),
                        "%" => U32(a % b),
                        "&" => U32(a & b),
                        "|" => U32(a | b),
                        "^" => U32(a ^ b),
                        "<<" => U32(a << shift),
                        ">>" or ">>>" => U32(a >> shift),
                        _ => Compare(op, a.CompareTo(b)),
                    };
                }
                case NumberType.Int64:
                {
                    long a = left.Bits, b = right.Bits;
                    int shift = (int)right.Bits;
                    return op switch
                    {
                        "+" => I64(isChecked ? checked(a + b) : unchecked(a + b)),
                        "-" => I64(isChecked ? checked(a - b) : unchecked(a - b)),
                        "*" => I64(isChecked ? checked(a * b) : unchecked(a * b)),
                        "/" => I64(a / b),
                        "%" => I64(a % b),
                        "&" => I64(a & b),
                        "|" => I64(a | b),
                        "^" => I64(a ^ b),
                        "<<" => I64(a << shift),
                        ">>" => I64(a >> shift),
                        ">>>" => I64(a >>> shift),
                        _ => Compare(op, a.CompareTo(b)),
                    };
                }
                case NumberType.UInt64:
                {
                    ulong a = (ulong)left.Bits, b = (ulong)right.Bits;
                    int shift = (int)right.Bits;
                    return op switch
                    {
                        "+" => U64(isChecked ? checked(a + b) : unchecked(a + b)),
                        "-" => U64(isChecked ? checked(a - b) : unchecked(a - b)),
                        "*" => U64(isChecked ? checked(a * b) : unchecked(a * b)),
                        "/" => U64(a / b),
                        "%" => U64(a % b),
                        "&" => U64(a & b),
                        "|" => U64(a | b),
                        "^" => U64(a ^ b),
                        "<<" => U64(a << shift),
                        ">>" or ">>>" => U64(a >> shift),
                        _ => Compare(op, a.CompareTo(b)),
                    };
                }
                case NumberType.Single:
                {
                    float a = (float)left.Real, b = (float)right.Real;
                    return op switch
                    {
                        "+" => F32(a + b),
                        "-" => F32(a - b),
                        "*" => F32(a * b),
                        "/" => F32(a / b),
                        "%" => F32(a % b),
                        _ => CompareFloating(op, a, b),
                    };
                }
                case NumberType.Double:
                {
                    double a = left.Real, b = right.Real;
                    return op switch
                    {
                        "+" => F64(a + b),
                        "-" => F64(a - b),
                        "*" => F64(a * b),
                        "/" => F64(a / b),
                        "%" => F64(a % b),
                        _ => CompareFloating(op, a, b),
                    };
                }
                case NumberType.Boolean:
                {
                    bool a = left.Bits != 0, b = right.Bits != 0;
                    return op switch
                    {
                        "&" => Boolean(a & b),
                        "|" => Boolean(a | b),
                        "^" => Boolean(a ^ b),
                        "==" => Boolean(a == b),
                        "!=" => Boolean(a != b),
                        _ => throw new FormulaException($"it applies {op} to bools, which the generator does not evaluate"),
                    };
                }
                default:
                    throw new FormulaException($"it applies {op} to a {Keyword(left.Type)}, which the generator does not evaluate");
            }
        }

        private static Number Compare(string op, int order) => op switch
        {
            "==" => Boolean(order == 0),
            "!=" => Boolean(order != 0),
            "<" => Boolean(order < 0),
            "<=" => Boolean(order <= 0),
            ">" => Boolean(order > 0),
            ">=" => Boolean(order >= 0),
            _ => throw new FormulaException($"it applies {op}, which the generator does not evaluate"),
        };

        // IEEE comparisons: every one but != is false when either side is NaN.
        private static Number CompareFloating(string op, double a, double b) => op switch
        {
            "==" => Boolean(a == b),
            "!=" => Boolean(a != b),
            "<" => Boolean(a < b),
            "<=" => Boolean(a <= b),
            ">" => Boolean(a > b),
            ">=" => Boolean(a >= b),
            _ => throw new FormulaException($"it applies {op}, which the generator does not evaluate"),
        };

        /// <summary>System.Math's method of that name, the overload of the type (as .NET runs it: NaN wins, +0 is above -0).</summary>
        public static Number Math(string method, Number[] arguments, NumberType type)
        {
            Number a = arguments[0];
            if (method is "Floor" or "Ceiling")
                return type == NumberType.Double ? F64(method == "Floor" ? System.Math.Floor(a.Real) : System.Math.Ceiling(a.Real))
                    : throw new FormulaException($"it calls Math.{method} on a {Keyword(type)}, which the generator does not evaluate");
            if (method == "Abs")
                return type switch
                {
                    NumberType.SByte => Integral(type, System.Math.Abs((sbyte)a.Bits)),
                    NumberType.Int16 => Integral(type, System.Math.Abs((short)a.Bits)),
                    NumberType.Int32 => Integral(type, System.Math.Abs((int)a.Bits)),
                    NumberType.Int64 => Integral(type, System.Math.Abs(a.Bits)),
                    NumberType.Single or NumberType.Double => Floating(type, System.Math.Abs(a.Real)),
                    _ => throw new FormulaException($"it calls Math.Abs on a {Keyword(type)}, which the generator does not evaluate"),
                };
            Number b = arguments[1];
            bool max = method == "Max";
            if (IsFloating(type))
            {
                double x = a.Real, y = b.Real;
                if (double.IsNaN(x)) return a;
                if (double.IsNaN(y)) return b;
                if (x == y) return max ? (IsNegative(y) ? a : b) : (IsNegative(x) ? a : b);
                return max ? (x > y ? a : b) : (x < y ? a : b);
            }
            int order = IsUnsigned(type) ? ((ulong)a.Bits).CompareTo((ulong)b.Bits) : a.Bits.CompareTo(b.Bits);
            return max ? (order >= 0 ? a : b) : (order <= 0 ? a : b);
        }

        private static bool IsNegative(double value) => BitConverter.DoubleToInt64Bits(value) < 0;
    }
}
