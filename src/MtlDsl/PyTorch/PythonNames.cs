using System.Globalization;
using System.Text;

namespace MtlDsl;

/// <summary>
/// The Python name of a model's twin: its class, and the module file it is exported to (<c>{name}.py</c>, beside
/// <c>mtldsl_torch.py</c> and <c>train_ddp.py</c>, a folder Python puts first on its path). A C# class name that
/// Python cannot take or that would shadow what the twin needs gets an underscore: a keyword (<c>class</c>,
/// <c>lambda</c>), a builtin (<c>super</c>, <c>type</c>), the twin's own imports (<c>torch</c>, <c>nn</c>,
/// <c>mtl</c>), a module of Python's standard library or of PyTorch's dependencies (<c>json</c>, <c>numpy</c>).
/// Characters Python identifiers do not take (C#'s formatting characters) are spelled out. State-dict keys are not
/// names (the twin stores blocks in <c>_modules</c> by key), so they never change.
/// </summary>
internal static class PythonNames
{
    public static string Class(string csharpName)
    {
        var name = new StringBuilder();
        foreach (char c in csharpName.TrimStart('@'))
        {
            if (c == '_' || char.IsLetterOrDigit(c)) name.Append(c);
            else name.Append("_u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        string text = name.ToString();
        return Reserved.Contains(text) ? text + "_" : text;
    }

    private static readonly HashSet<string> Reserved = new(
        (Keywords + " " + Builtins + " " + Modules + " torch nn mtl mtldsl_torch train_ddp numpy typing_extensions sympy filelock jinja2 networkx fsspec yaml safetensors onnx onnxruntime")
            .Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    // Python 3.11's keyword.kwlist and softkwlist.
    private const string Keywords =
        "False None True _ and as assert async await break case class continue def del elif else except finally for " +
        "from global if import in is lambda match nonlocal not or pass raise return try while with yield";

    // Python 3.11's builtins.
    private const string Builtins =
        "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError BrokenPipeError " +
        "BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError " +
        "ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception " +
        "ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError " +
        "ImportError ImportWarning IndentationError IndexError InterruptedError IsADirectoryError KeyError " +
        "KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError None NotADirectoryError NotImplemented " +
        "NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError ProcessLookupError " +
        "RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration StopIteration " +
        "SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError True TypeError UnboundLocalError " +
        "UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError " +
        "Warning ZeroDivisionError abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr " +
        "classmethod compile complex copyright credits delattr dict dir divmod enumerate eval exec exit filter float " +
        "format frozenset getattr globals hasattr hash help hex id input int isinstance issubclass iter len license " +
        "list locals map max memoryview min next object oct open ord pow print property quit range repr reversed round " +
        "set setattr slice sorted staticmethod str sum super tuple type vars zip";

    // Python 3.11's sys.stdlib_module_names (without the private ones).
    private const string Modules =
        "abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect " +
        "builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall " +
        "concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm " +
        "decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp " +
        "fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip " +
        "hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword " +
        "lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt " +
        "multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev pathlib " +
        "pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats pty pwd " +
        "py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource rlcompleter runpy " +
        "sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd " +
        "sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct subprocess sunau " +
        "symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this threading time timeit " +
        "tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types typing unicodedata " +
        "unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc zipapp " +
        "zipfile zipimport zlib zoneinfo";
}
