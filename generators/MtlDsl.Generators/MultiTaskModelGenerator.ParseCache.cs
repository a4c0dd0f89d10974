using System;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MtlDsl.Generators;

public sealed partial class MultiTaskModelGenerator
{
    /// <summary>
    /// Reuses a model's semantic parse across compilations while nothing it can depend on changed. The parse step
    /// runs on every compilation change (each keystroke anywhere), and binding every attribute of every model
    /// again is what costs. Binding an attribute, a constant or a block's type reads only declarations (usings,
    /// types, signatures, constants, attributes), never a method body or a field's non-constant initializer. So a
    /// parse is reused when the model's declaration nodes are the same objects (its files are unchanged) and the
    /// compilation's <see cref="DeclarationVersion"/>, a hash of every file with bodies left out and of the
    /// references, is the same: typing inside a method anywhere costs no binding; any change to a declaration
    /// anywhere parses every model again, exactly as the compiler binds them.
    /// </summary>
    internal static class ParseCache
    {
        private sealed class Entry(TypeDeclarationSyntax[] declarations, ulong version, ParseResult result)
        {
            public TypeDeclarationSyntax[] Declarations => declarations;
            public ulong Version => version;
            public ParseResult Result => result;
        }

        private static readonly ConditionalWeakTable<SyntaxNode, Entry> Entries = new();
        private static readonly ConditionalWeakTable<Compilation, StrongBox<ulong>> Versions = new();
        private static readonly ConditionalWeakTable<SyntaxTree, StrongBox<ulong>> TreeHashes = new();

        public static ParseResult GetOrParse(TypeDeclarationSyntax[] declarations, Compilation compilation, Func<ParseResult> parse, CancellationToken cancellationToken)
        {
            ulong version = DeclarationVersion(compilation, cancellationToken);
            if (Entries.TryGetValue(declarations[0], out Entry? entry) && entry.Version == version
                && entry.Declarations.Length == declarations.Length
                && entry.Declarations.Zip(declarations, (a, b) => ReferenceEquals(a, b)).All(same => same))
                return entry.Result;
            ParseResult result = parse();
            lock (Entries)
            {
                Entries.Remove(declarations[0]);
                Entries.Add(declarations[0], new Entry(declarations, version, result));
            }
            return result;
        }

        /// <summary>A hash of everything binding a declaration can read: every file's declarations (bodies left out) and the references.</summary>
        internal static ulong DeclarationVersion(Compilation compilation, CancellationToken cancellationToken) =>
            Versions.GetValue(compilation, c => new StrongBox<ulong>(ComputeVersion(c, cancellationToken))).Value;

        private static ulong ComputeVersion(Compilation compilation, CancellationToken cancellationToken)
        {
            // Order-independent over files; references by identity (an unchanged reference is the same object).
            ulong version = 14695981039346656037;
            foreach (SyntaxTree tree in compilation.SyntaxTrees)
                version += Mix(TreeHashes.GetValue(tree, t => new StrongBox<ulong>(DeclarationHash(t, cancellationToken))).Value);
            foreach (MetadataReference reference in compilation.References)
                version += Mix((ulong)RuntimeHelpers.GetHashCode(reference));
            // Not the compilation options: their GetHashCode throws NotImplementedException inside the compiler (seen
            // with the .NET 10 SDK), and options (nullable, warnings, platform) do not change what an attribute, a
            // constant or a type binds to; parse options (language version, symbols) re-parse every file anyway.
            return Mix(version);
        }

        // FNV-1a over the kinds and texts of a file's tokens outside bodies (comments and whitespace are trivia).
        private static ulong DeclarationHash(SyntaxTree tree, CancellationToken cancellationToken)
        {
            ulong hash = 14695981039346656037;
            foreach (SyntaxToken token in tree.GetRoot(cancellationToken).DescendantTokens(node => !IsBody(node)))
            {
                hash = (hash ^ (ulong)token.RawKind) * 1099511628211;
                foreach (char c in token.Text) hash = (hash ^ c) * 1099511628211;
            }
            return hash;
        }

        // Code that no declaration's binding can read: method, accessor and constructor bodies, expression bodies,
        // initializers of fields that are not const and of properties, top-level statements. One body is read: a
        // static OutputShape method's, which the parse evaluates for [Module(typeof(T))] (OwnModules).
        private static bool IsBody(SyntaxNode node) => node switch
        {
            BlockSyntax { Parent: MethodDeclarationSyntax method } when IsShapeMethod(method) => false,
            ArrowExpressionClauseSyntax { Parent: MethodDeclarationSyntax method } when IsShapeMethod(method) => false,
            BlockSyntax { Parent: BaseMethodDeclarationSyntax or AccessorDeclarationSyntax } => true,
            ArrowExpressionClauseSyntax { Parent: BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or BasePropertyDeclarationSyntax } => true,
            EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Parent: FieldDeclarationSyntax field } } }
                => !field.Modifiers.Any(SyntaxKind.ConstKeyword),
            EqualsValueClauseSyntax { Parent: PropertyDeclarationSyntax } => true,
            GlobalStatementSyntax => true,
            _ => false,
        };

        private static bool IsShapeMethod(MethodDeclarationSyntax method) =>
            method.Identifier.ValueText == "OutputShape" && method.Modifiers.Any(SyntaxKind.StaticKeyword);

        private static ulong Mix(ulong value)
        {
            value ^= value >> 33;
            value *= 0xff51afd7ed558ccd;
            value ^= value >> 33;
            value *= 0xc4ceb9fe1a85ec53;
            return value ^ (value >> 33);
        }
    }
}
