using System.Text.Json;
using FeedbackHub.Api.Commands;

namespace FeedbackHub.Api.Tests;

public sealed class LintCommandTests
{
    private static async Task<(int Code, string[] Out, string Err)> Run(string input, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await LintCommand.RunAsync(args, new StringReader(input), stdout, stderr);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (code, lines, stderr.ToString());
    }

    [Fact]
    public async Task Clean_text_writes_one_line_per_input_and_exits_0()
    {
        var (code, lines, err) = await Run("""
            {"id": "a", "text": "He disabled the feature flag before the rollback."}
            {"id": 7, "text": "She wrote the query with UNION ALL."}
            """);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, err);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal("a", first.RootElement.GetProperty("id").GetString());
        Assert.Equal(0, first.RootElement.GetProperty("findings").GetArrayLength());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(JsonValueKind.Number, second.RootElement.GetProperty("id").ValueKind);
        Assert.Equal(7, second.RootElement.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task The_full_engine_is_the_default_and_rules_only_runs_the_catalog()
    {
        const string input = """{"id": 1, "text": "Not someone I'd grab a beer with."}""";
        var (fullCode, fullLines, _) = await Run(input);
        var (rulesCode, rulesLines, _) = await Run(input, "--engine", "rules");

        Assert.Equal(0, fullCode); // a warning in the US pack
        using var full = JsonDocument.Parse(Assert.Single(fullLines));
        var finding = Assert.Single(full.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("model.culture-fit-vague", finding.GetProperty("ruleId").GetString());
        Assert.True(finding.GetProperty("confidence").GetDouble() > 0.5);
        Assert.Equal("culture-fit-vague", finding.GetProperty("example").GetProperty("category").GetString());

        Assert.Equal(0, rulesCode);
        using var rules = JsonDocument.Parse(Assert.Single(rulesLines));
        Assert.Equal(0, rules.RootElement.GetProperty("findings").GetArrayLength());
    }

    [Fact]
    public async Task An_unknown_engine_is_a_usage_error()
    {
        var (code, _, err) = await Run("", "--engine", "magic");
        Assert.Equal(2, code);
        Assert.Contains("unknown engine", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_block_finding_is_written_in_camel_case_and_exits_1()
    {
        var (code, lines, _) = await Run("""{"id": 1, "text": "At his age I doubt he will learn."}""");

        Assert.Equal(1, code);
        using var document = JsonDocument.Parse(Assert.Single(lines));
        var finding = Assert.Single(document.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("age.at-his-age", finding.GetProperty("ruleId").GetString());
        Assert.Equal("age", finding.GetProperty("category").GetString());
        Assert.Equal("block", finding.GetProperty("severity").GetString());
        Assert.Equal(0, finding.GetProperty("start").GetInt32());
        Assert.Equal(10, finding.GetProperty("length").GetInt32());
        Assert.Equal("At his age", finding.GetProperty("match").GetString());
        Assert.False(string.IsNullOrEmpty(finding.GetProperty("reason").GetString()));
        Assert.False(string.IsNullOrEmpty(finding.GetProperty("suggestion").GetString()));
    }

    [Fact]
    public async Task Warn_findings_alone_exit_0()
    {
        var (code, lines, _) = await Run("""{"id": "w", "text": "He was not a culture fit."}""");

        Assert.Equal(0, code);
        Assert.Contains("\"severity\":\"warn\"", Assert.Single(lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_lines_are_reported_with_their_number_the_rest_is_processed_and_exit_is_2()
    {
        var (code, lines, err) = await Run("""
            {"id": "ok1", "text": "At his age..."}
            not json
            {"id": "no-text"}

            {"text": "no id"}
            {"id": "ok2", "text": "Fine."}
            """);

        Assert.Equal(2, code);
        Assert.Equal(2, lines.Length);
        Assert.Contains("line 2:", err, StringComparison.Ordinal);
        Assert.Contains("line 3:", err, StringComparison.Ordinal);
        Assert.Contains("line 5:", err, StringComparison.Ordinal);
        Assert.DoesNotContain("line 4:", err, StringComparison.Ordinal);
        Assert.Contains("\"ok2\"", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jurisdiction_option_selects_the_pack()
    {
        // The rules alone, so that only the pack decides (the full engine's sentence model reads this sentence as
        // belief-related in every pack since the fourth training round, and flags it in the US too).
        const string input = """{"id": 1, "text": "His political views would clash with ours."}""";
        var (us, usLines, _) = await Run(input, "--engine", "rules");
        var (de, deLines, _) = await Run(input, "--engine", "rules", "--jurisdiction", "DE");
        var (_, usFullLines, _) = await Run(input);

        Assert.Equal(0, us);
        Assert.Contains("\"findings\":[]", usLines[0], StringComparison.Ordinal);
        Assert.Equal(1, de);
        Assert.Contains("religion.worldview", deLines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("religion.worldview", usFullLines[0], StringComparison.Ordinal); // the DE rule never runs in the US pack
    }

    [Fact]
    public async Task Input_file_is_read_instead_of_standard_input()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, """{"id": "f", "text": "She is pregnant."}""" + "\n");
            var (code, lines, _) = await Run("""{"id": "stdin", "text": "ignored"}""", "--input", path);

            Assert.Equal(1, code);
            Assert.Contains("\"f\"", Assert.Single(lines), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--jurisdiction", "FR")]
    [InlineData("--bogus")]
    [InlineData("--input")]
    [InlineData("--input", "/nonexistent/feedback.jsonl")]
    public async Task Usage_errors_exit_2_with_a_message(params string[] args)
    {
        var (code, lines, err) = await Run(string.Empty, args);

        Assert.Equal(2, code);
        Assert.Empty(lines);
        Assert.StartsWith("lint: ", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_prints_usage_and_exits_0()
    {
        var (code, lines, _) = await Run(string.Empty, "--help");

        Assert.Equal(0, code);
        Assert.Contains(lines, l => l.StartsWith("Usage:", StringComparison.Ordinal));
    }
}
