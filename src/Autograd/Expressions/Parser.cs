namespace Autograd.Expressions;

/// <summary>
/// Operator-precedence parser (shunting-yard) that writes the formula in postfix order. It keeps its
/// pending operators on a heap stack, so a formula nested a million deep costs memory, not call stack.
/// </summary>
public sealed class Parser
{
    static readonly Dictionary<TokenKind, (string Symbol, Precedence Precedence, bool RightAssociative)> Infix = new()
    {
        [TokenKind.Plus] = ("+", Precedence.Sum, false),
        [TokenKind.Minus] = ("-", Precedence.Sum, false),
        [TokenKind.Star] = ("*", Precedence.Product, false),
        [TokenKind.Slash] = ("/", Precedence.Product, false),
        [TokenKind.Caret] = ("^", Precedence.Exponent, true),
        [TokenKind.MatMul] = ("%*%", Precedence.Special, false),
    };

    const string OperandExpected = "a number, a name, '(' or '-'";
    const string OperatorExpected = "an operator (+ - * / ^ %*%), '[', ',', ')' or the end of the formula";

    enum PendingKind { Binary, Negate, Group, Call }

    record struct Pending(PendingKind Kind, Token Token, Precedence Precedence, int Arguments = 0);

    readonly List<Token> _tokens;
    readonly FormulaLimits _limits;
    readonly List<SyntaxNode> _output;
    readonly Stack<Pending> _pending = new();
    // Per finished operand on the output: its tree depth and its span, to check depth and build spans.
    readonly Stack<(int Depth, int Start, int End)> _operands = new();
    int _position;

    Parser(List<Token> tokens, FormulaLimits limits)
    {
        _tokens = tokens;
        _limits = limits;
        // Each node comes from a token of its own (an operator, a name, a number, a bracket), so the list never grows.
        _output = new List<SyntaxNode>(Math.Min(tokens.Count, limits.MaxNodes + 1));
    }

    public static List<SyntaxNode> Parse(string text, FormulaLimits limits)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > limits.MaxLength)
            throw new FormulaException(FormulaError.TooLong,
                $"The formula has {text.Length:N0} characters; the limit is {limits.MaxLength:N0}",
                new SourceSpan(limits.MaxLength + 1, text.Length - limits.MaxLength));
        if (string.IsNullOrWhiteSpace(text))
            throw new FormulaException(FormulaError.Syntax, "The formula is empty", new SourceSpan(1, 0), "", OperandExpected);
        var parser = new Parser(Lexer.Tokenize(text), limits);
        parser.Run();
        return parser._output;
    }

    Token Peek => _tokens[_position];
    Token Advance() => _tokens[_position++];

    // The let statement being parsed (its name token), whether the loss expression has ended, and whether any
    // statement has started: a formula is `name = expr` statements, separated by ';' or newlines, then the loss.
    Token? _let;
    bool _lossEnded;
    int _statements;

    void Run()
    {
        var expectOperand = true;
        var statementStart = true;
        while (true)
        {
            var token = Advance();
            if (expectOperand)
            {
                // A newline after an operator or '(' continues the line; empty statements are skipped.
                if (token.Kind == TokenKind.Newline || (statementStart && token.Kind == TokenKind.Semicolon)) continue;
                if (statementStart)
                {
                    if (token.Kind == TokenKind.End && (_lossEnded || _statements > 0)) { FinishFormula(token); return; }
                    StartStatement(token);
                    statementStart = false;
                    if (token.Kind == TokenKind.Name && Peek.Kind == TokenKind.Assign)
                    {
                        _let = token;
                        Advance();
                        continue;
                    }
                }
                expectOperand = ParseOperandPosition(token);
                continue;
            }
            if (token.Kind == TokenKind.End)
            {
                EmitPending(token);
                EndStatement();
                FinishFormula(token);
                return;
            }
            if (token.Kind == TokenKind.Semicolon || (token.Kind == TokenKind.Newline && !InsideParentheses))
            {
                EmitPending(token);
                EndStatement();
                expectOperand = statementStart = true;
                continue;
            }
            if (token.Kind == TokenKind.Newline) continue;
            expectOperand = ParseOperatorPosition(token);
        }
    }

    bool InsideParentheses => _pending.Any(p => p.Kind is PendingKind.Group or PendingKind.Call);

    /// <summary>Emits every pending operator; an open parenthesis is an error at <paramref name="token"/>.</summary>
    void EmitPending(Token token)
    {
        while (_pending.Count > 0)
        {
            var open = _pending.Pop();
            if (open.Kind is PendingKind.Group or PendingKind.Call)
                throw Error(token, $"Expected ')' to close the '(' at column {OpenParenColumn(open)}", "')'");
            Emit(open);
        }
    }

    void StartStatement(Token token)
    {
        if (_lossEnded)
            throw Error(token, $"Found {token.Describe()} after the loss expression: only let statements (name = expression) may come before it",
                "the end of the formula");
        _statements++;
    }

    /// <summary>Closes a statement: a let becomes a <see cref="SyntaxKind.Let"/> node; an expression is the loss.</summary>
    void EndStatement()
    {
        if (_let is not { } name)
        {
            _lossEnded = true;
            return;
        }
        var operand = _operands.Pop();
        var span = new SourceSpan(name.Column, operand.End - name.Column + 1);
        _output.Add(new SyntaxNode(SyntaxKind.Let, name.Text, 0, 1, 0, span, name.Span));
        _let = null;
    }

    void FinishFormula(Token end)
    {
        if (!_lossEnded)
            throw Error(end, "Expected the loss expression after the let statements", OperandExpected);
    }

    /// <summary>Handles a token where an operand must start; returns whether an operand is still expected.</summary>
    bool ParseOperandPosition(Token token)
    {
        switch (token.Kind)
        {
            case TokenKind.Number:
                if (!double.TryParse(token.Text, System.Globalization.NumberStyles.Float,
                        System.Globalization.CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                    throw Error(token, $"The number '{token.Text}' is not a finite double", "a finite number");
                Leaf(new SyntaxNode(SyntaxKind.Number, token.Text, number, 0, 0, token.Span, token.Span));
                return false;
            case TokenKind.Name when Peek.Kind == TokenKind.LeftParen:
                Advance();
                if (Peek.Kind == TokenKind.RightParen)
                {
                    var close = Advance();
                    var span = new SourceSpan(token.Column, close.Column - token.Column + 1);
                    Leaf(new SyntaxNode(SyntaxKind.Call, token.Text, 0, 0, 0, span, token.Span));
                    return false;
                }
                _pending.Push(new Pending(PendingKind.Call, token, Precedence.None, 1));
                return true;
            case TokenKind.Name:
                Leaf(new SyntaxNode(SyntaxKind.Name, token.Text, 0, 0, 0, token.Span, token.Span));
                return false;
            case TokenKind.Minus:
                _pending.Push(new Pending(PendingKind.Negate, token, Precedence.Prefix));
                return true;
            case TokenKind.Plus:
                return true;
            case TokenKind.LeftParen:
                _pending.Push(new Pending(PendingKind.Group, token, Precedence.None));
                return true;
            default:
                throw Error(token, $"Expected {OperandExpected} but found {token.Describe()}", OperandExpected);
        }
    }

    /// <summary>Handles a token after a complete operand; returns whether an operand is expected next.</summary>
    bool ParseOperatorPosition(Token token)
    {
        if (Infix.TryGetValue(token.Kind, out var infix))
        {
            while (_pending.TryPeek(out var top) && top.Kind is PendingKind.Binary or PendingKind.Negate
                   && (top.Precedence > infix.Precedence || (top.Precedence == infix.Precedence && !infix.RightAssociative)))
                Emit(_pending.Pop());
            _pending.Push(new Pending(PendingKind.Binary, token with { Text = infix.Symbol }, infix.Precedence));
            return true;
        }
        switch (token.Kind)
        {
            case TokenKind.LeftBracket:
                ParseIndex(token);
                return false;
            case TokenKind.Comma:
                EmitUntilOpen(token, closing: false);
                var call = _pending.Pop();
                _pending.Push(call with { Arguments = call.Arguments + 1 });
                return true;
            case TokenKind.RightParen:
                CloseParen(token);
                return false;
            default:
                throw Error(token, $"Expected {OperatorExpected} but found {token.Describe()}", OperatorExpected);
        }
    }

    void ParseIndex(Token open)
    {
        if (Peek.Kind == TokenKind.Name || (_position + 1 < _tokens.Count && _tokens[_position + 1].Kind is TokenKind.Colon))
        {
            ParseSlice(open);
            return;
        }
        var number = Advance();
        if (number.Kind != TokenKind.Number || !int.TryParse(number.Text, out var index) || index < 1)
            throw Error(number, $"Expected a whole number of at least 1 as the index but found {number.Describe()}", "an index such as 1");
        var close = Advance();
        // W[i, j]: a matrix element, row then column.
        var column = 0;
        if (close.Kind == TokenKind.Comma)
        {
            var second = Advance();
            if (second.Kind != TokenKind.Number || !int.TryParse(second.Text, out column) || column < 1)
                throw Error(second, $"Expected a whole number of at least 1 as the column index but found {second.Describe()}", "an index such as 1");
            close = Advance();
        }
        if (close.Kind != TokenKind.RightBracket)
            throw Error(close, $"Expected ']' after the index but found {close.Describe()}", "']'");
        var operand = _operands.Pop();
        var span = new SourceSpan(operand.Start, close.Column - operand.Start + 1);
        Push(new SyntaxNode(SyntaxKind.Index, "[]", 0, 1, index, span, open.Span with { Length = close.Column - open.Column + 1 }, ColumnIndex: column),
            operand.Depth + 1, operand.Start, close.Column);
    }

    /// <summary><c>v[a:b]</c>: each bound a whole number, <c>end</c>, or <c>end</c> plus or minus a whole number.</summary>
    void ParseSlice(Token open)
    {
        var from = ParseBound();
        var colon = Advance();
        if (colon.Kind != TokenKind.Colon)
            throw Error(colon, $"Expected ':' between the bounds of a slice but found {colon.Describe()}", "':'");
        var to = ParseBound();
        var close = Advance();
        if (close.Kind != TokenKind.RightBracket)
            throw Error(close, $"Expected ']' after the slice but found {close.Describe()}", "']'");
        var operand = _operands.Pop();
        var span = new SourceSpan(operand.Start, close.Column - operand.Start + 1);
        var tokenSpan = open.Span with { Length = close.Column - open.Column + 1 };
        Push(new SyntaxNode(SyntaxKind.Slice, "[:]", 0, 1, 0, span, tokenSpan, (from, to)), operand.Depth + 1, operand.Start, close.Column);
    }

    SliceBound ParseBound()
    {
        const string expected = "a whole number of at least 1, end, or end - a whole number";
        var token = Advance();
        if (token.Kind == TokenKind.Number && int.TryParse(token.Text, out var value))
        {
            if (value < 1) throw Error(token, $"Slice bounds start at 1, not {token.Text}", expected);
            return new SliceBound(value, false);
        }
        if (token.Kind != TokenKind.Name || token.Text != "end")
            throw Error(token, $"Expected {expected} as a slice bound but found {token.Describe()}", expected);
        if (Peek.Kind is not (TokenKind.Plus or TokenKind.Minus)) return new SliceBound(0, true);
        var sign = Advance();
        var offset = Advance();
        if (offset.Kind != TokenKind.Number || !int.TryParse(offset.Text, out var k))
            throw Error(offset, $"Expected a whole number after 'end {sign.Text}' but found {offset.Describe()}", "a whole number");
        return new SliceBound(sign.Kind == TokenKind.Minus ? -k : k, true);
    }

    void CloseParen(Token close)
    {
        EmitUntilOpen(close, closing: true);
        var open = _pending.Pop();
        if (open.Kind == PendingKind.Call)
        {
            var start = open.Token.Column;
            var depth = 0;
            for (var i = 0; i < open.Arguments; i++) depth = Math.Max(depth, _operands.Pop().Depth);
            var span = new SourceSpan(start, close.Column - start + 1);
            Push(new SyntaxNode(SyntaxKind.Call, open.Token.Text, 0, open.Arguments, 0, span, open.Token.Span),
                depth + 1, start, close.Column);
        }
        else
        {
            var inner = _operands.Pop();
            _operands.Push((inner.Depth, open.Token.Column, close.Column));
        }
    }

    /// <summary>Emits pending operators down to the innermost open parenthesis, which stays on the stack.</summary>
    void EmitUntilOpen(Token token, bool closing)
    {
        while (_pending.Count > 0 && _pending.Peek().Kind is PendingKind.Binary or PendingKind.Negate)
            Emit(_pending.Pop());
        if (_pending.Count == 0)
            throw closing
                ? Error(token, "Found ')' without a matching '('", OperatorExpected)
                : Error(token, "Found ',' outside the arguments of a function call", OperatorExpected);
        if (!closing && _pending.Peek().Kind != PendingKind.Call)
            throw Error(token, "Found ',' inside parentheses that are not a function call's", "')'");
    }

    void Emit(Pending pending)
    {
        if (pending.Kind == PendingKind.Negate)
        {
            var operand = _operands.Pop();
            var start = pending.Token.Column;
            Push(new SyntaxNode(SyntaxKind.Negate, "-", 0, 1, 0, new SourceSpan(start, operand.End - start + 1), pending.Token.Span),
                operand.Depth + 1, start, operand.End);
            return;
        }
        var right = _operands.Pop();
        var left = _operands.Pop();
        var span = new SourceSpan(left.Start, right.End - left.Start + 1);
        Push(new SyntaxNode(SyntaxKind.Binary, pending.Token.Text, 0, 2, 0, span, pending.Token.Span),
            Math.Max(left.Depth, right.Depth) + 1, left.Start, right.End);
    }

    void Leaf(SyntaxNode node) => Push(node, 1, node.Span.Column, node.Span.Column + node.Span.Length - 1);

    void Push(SyntaxNode node, int depth, int start, int end)
    {
        if (_output.Count >= _limits.MaxNodes)
            throw new FormulaException(FormulaError.TooLarge,
                $"The formula has more than {_limits.MaxNodes:N0} nodes (numbers, names, operators, calls)", node.TokenSpan);
        if (depth > _limits.MaxDepth)
            throw new FormulaException(FormulaError.TooDeep,
                $"The formula nests deeper than {_limits.MaxDepth:N0} levels", node.TokenSpan);
        _output.Add(node);
        _operands.Push((depth, start, end));
    }

    static int OpenParenColumn(Pending open) =>
        open.Kind == PendingKind.Call ? open.Token.Column + open.Token.Text.Length : open.Token.Column;

    static FormulaException Error(Token token, string message, string expected) =>
        new(FormulaError.Syntax, message, token.Span, token.Text, expected);
}
