using System.Reflection;
using System.Text;
using System.Text.Json;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Domain.Tests.Language;

public sealed class LanguageCheckerTests
{
    private static readonly RuleSet Us = RuleCatalog.Default.ForJurisdiction("US");
    private static readonly LanguageChecker Checker = LanguageChecker.Create(Us);

    private static Finding Single(string text, string category)
    {
        var findings = Checker.Check(text);
        return Assert.Single(findings, f => f.Category == category);
    }

    [Fact]
    public void At_his_age_is_flagged_as_age()
    {
        var finding = Single("At his age I doubt he will want to learn a new stack.", "age");
        Assert.Equal("age.at-his-age", finding.RuleId);
        Assert.Equal(Severity.Block, finding.Severity);
        Assert.Equal("At his age", finding.Match);
        Assert.False(string.IsNullOrWhiteSpace(finding.Reason));
        Assert.False(string.IsNullOrWhiteSpace(finding.Suggestion));
    }

    [Theory]
    [InlineData("We want a digital native for this team.", "age", "digital native")]
    [InlineData("Strong background, but he is overqualified.", "age", "overqualified")]
    [InlineData("She would need to check with her husband about relocating.", "marital-status", "check with her husband")]
    [InlineData("He has a heavy accent.", "race-ethnicity-origin", "heavy accent")]
    [InlineData("He has a strong accent.", "race-ethnicity-origin", "strong accent")]
    [InlineData("She didn't click with the team.", "culture-fit-vague", "didn't click with")]
    [InlineData("We'll call you when something opens up.", "promises", "We'll call")]
    [InlineData("Another candidate was stronger.", "comparison", "Another candidate")]
    [InlineData("His previous salary was low.", "salary-history", "previous salary")]
    [InlineData("Frankly, he is an idiot.", "insults-character", "idiot")]
    public void Risky_examples_from_the_issue_are_flagged_with_their_category(string text, string category, string match)
    {
        var finding = Single(text, category);
        Assert.Equal(match, finding.Match);
        Assert.Equal(match, text.Substring(finding.Start, finding.Length));
    }

    [Theory]
    [InlineData("He disabled the feature flag before the rollback.")]
    [InlineData("She married the two data sources into one reporting view.")]
    [InlineData("He wrote the query with UNION ALL and explained why duplicates were fine.")]
    [InlineData("She religiously wrote tests before every change.")]
    [InlineData("He designed the parent-child tables for the category tree.")]
    [InlineData("She has 5 years of experience with Kubernetes.")]
    [InlineData("He is a native speaker of Go and writes idiomatic code.")]
    [InlineData("She disabled the cache to reproduce the bug.")]
    [InlineData("He built an aged receivables report.")]
    [InlineData("The candidate migrated a mature codebase to .NET 8.")]
    [InlineData("She handled the union of two sets efficiently.")]
    public void Technical_and_idiomatic_senses_are_not_flagged(string text)
    {
        Assert.Empty(Checker.Check(text));
    }

    [Fact]
    public void Native_English_speaker_is_flagged_unlike_native_speaker_of_Go()
    {
        Assert.Equal("race-ethnicity-origin", Assert.Single(Checker.Check("We need a native English speaker.")).Category);
        Assert.Empty(Checker.Check("He is a native speaker of Go."));
    }

    [Fact]
    public void Negation_does_not_make_a_risky_mention_safe()
    {
        var finding = Single("Not because of her pregnancy, but we need someone now.", "pregnancy-family");
        Assert.Equal("pregnancy", finding.Match);
    }

    [Fact]
    public void Offsets_point_into_the_original_text_through_diacritics_curly_quotes_and_whitespace()
    {
        const string text = "Zoë’s summary:\t“Chloé  didn’t   click with the team”, and at   HIS  age…";
        var findings = Checker.Check(text);

        var fit = Assert.Single(findings, f => f.Category == "culture-fit-vague");
        Assert.Equal("didn’t   click with", fit.Match);
        Assert.Equal(text.IndexOf("didn’t", StringComparison.Ordinal), fit.Start);
        var age = Assert.Single(findings, f => f.Category == "age");
        Assert.Equal("at   HIS  age", age.Match);
        Assert.All(findings, f => Assert.Equal(f.Match, text.Substring(f.Start, f.Length)));
    }

    [Fact]
    public void Diacritics_and_eszett_are_folded_before_matching()
    {
        Assert.Single(Checker.Check("Sie ist verheiratet; she is márried."), f => f.Category == "marital-status");
        Assert.Equal("PREGNANT", Single("She is PREGNANT.", "pregnancy-family").Match);
    }

    [Theory]
    [InlineData("He is overqualified for this role.")]
    [InlineData("He is over-qualified for this role.")]
    [InlineData("He is over qualified for this role.")]
    [InlineData("He is over‑qualified for this role.")] // non-breaking hyphen
    public void Overqualified_is_flagged_in_every_spelling(string text)
    {
        Assert.Equal("age.overqualified", Single(text, "age").RuleId);
    }

    [Theory]
    [InlineData("She married young.", "marital-status")]
    [InlineData("He is getting married in June.", "marital-status")]
    [InlineData("She is pregnant.", "pregnancy-family")]
    [InlineData("Her pregnancies were mentioned.", "pregnancy-family")]
    [InlineData("He was a union rep and organised strikes.", "union-complaints")]
    [InlineData("She filed grievances against two managers.", "union-complaints")]
    public void Inflected_forms_are_matched(string text, string category)
    {
        Assert.Contains(Checker.Check(text), f => f.Category == category);
    }

    [Theory]
    [InlineData("She is pregnent, so the start date is a concern.", "pregnancy-family", "pregnent")]
    [InlineData("He is overqualifed for this position.", "age", "overqualifed")]
    [InlineData("She needs to check with her husbnad first.", "marital-status", "check with her husbnad")]
    [InlineData("He is very religous.", "religion", "religous")]
    public void Common_misspellings_are_tolerated(string text, string category, string match)
    {
        Assert.Equal(match, Single(text, category).Match);
    }

    [Theory]
    [InlineData("The candidate migrated the service to Kubernetes.")]
    [InlineData("She debugged the deadlock in the scheduler.")]
    [InlineData("He moved the Windows build to GitHub Actions.")]
    public void Real_words_near_a_rule_word_are_not_treated_as_misspellings(string text)
    {
        Assert.Empty(Checker.Check(text));
    }

    [Fact]
    public void A_tenant_term_is_flagged_with_its_category_and_severity()
    {
        var changes = new TenantRuleChanges(
            [new CustomTerm("acme.rockstar", "insults-character", "rock star", Severity.Warn, "Vague hype label.", "Name the skill.")],
            [], []);
        var checker = LanguageChecker.Create(Us.With(changes));

        var finding = Assert.Single(checker.Check("We need Rock Stars, and she is not one."));
        Assert.Equal(("acme.rockstar", "insults-character", Severity.Warn, "Rock Stars"), (finding.RuleId, finding.Category, finding.Severity, finding.Match));
        Assert.Empty(Checker.Check("We need Rock Stars, and she is not one."));
    }

    [Fact]
    public void A_tenant_allowed_phrase_is_never_flagged()
    {
        const string text = "He worked on the Young Team Programme for graduates.";
        Assert.NotEmpty(Checker.Check(text));

        var checker = LanguageChecker.Create(Us.With(new TenantRuleChanges([], ["young team programme"], [])));
        Assert.Empty(checker.Check(text));
    }

    [Fact]
    public void A_disabled_rule_is_not_flagged_but_other_rules_still_are()
    {
        var checker = LanguageChecker.Create(Us.With(new TenantRuleChanges([], [], ["culture-fit-vague.culture-fit"])));

        Assert.Empty(checker.Check("He was not a culture fit."));
        Assert.NotEmpty(checker.Check("She didn't click with the team."));
        Assert.DoesNotContain(checker.RuleSet.Rules, r => r.Id == "culture-fit-vague.culture-fit");
    }

    [Fact]
    public void Unknown_rule_ids_categories_and_jurisdictions_are_rejected()
    {
        var unknownRule = Assert.Throws<ArgumentException>(() => Us.With(new TenantRuleChanges([], [], ["age.no-such-rule"])));
        Assert.Contains("age.no-such-rule", unknownRule.Message, StringComparison.Ordinal);

        var unknownCategory = Assert.Throws<ArgumentException>(() => Us.With(new TenantRuleChanges(
            [new CustomTerm("x", "astrology", "scorpio", Severity.Warn, "r", "s")], [], [])));
        Assert.Contains("astrology", unknownCategory.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => Us.With(new TenantRuleChanges(
            [new CustomTerm("age.at-his-age", "age", "old timer", Severity.Warn, "r", "s")], [], [])));
        Assert.Throws<ArgumentException>(() => Us.With(new TenantRuleChanges(
            [new CustomTerm("x", "age", " ( ) ", Severity.Warn, "r", "s")], [], [])));
        Assert.Throws<ArgumentException>(() => Us.With(new TenantRuleChanges(
            [new CustomTerm("x", "age", "grey beard", Severity.Warn, "", "s")], [], [])));

        var unknownJurisdiction = Assert.Throws<ArgumentException>(() => RuleCatalog.Default.ForJurisdiction("FR"));
        Assert.Contains("FR", unknownJurisdiction.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_returns_a_new_rule_set_and_leaves_the_original_unchanged()
    {
        var before = Us.Rules.Count;
        var changed = Us.With(new TenantRuleChanges([new CustomTerm("t1", "age", "grey beard", Severity.Block, "r", "s")], [], ["age.at-his-age"]));

        Assert.Equal(before, Us.Rules.Count);
        Assert.Equal(before, changed.Rules.Count);
        Assert.Contains(changed.Rules, r => r.Id == "t1");
        Assert.DoesNotContain(changed.Rules, r => r.Id == "age.at-his-age");
    }

    [Fact]
    public void Jurisdiction_packs_differ_in_rules_and_severities()
    {
        var uk = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("UK"));
        var de = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("de"));

        const string marital = "She is married, so relocation is unlikely.";
        Assert.Equal(Severity.Warn, Assert.Single(Checker.Check(marital)).Severity);
        Assert.Equal(Severity.Block, Assert.Single(uk.Check(marital)).Severity);

        const string worldview = "His political views would clash with the team.";
        Assert.Empty(Checker.Check(worldview));
        Assert.Equal(Severity.Block, Assert.Single(de.Check(worldview)).Severity);
        Assert.Equal(Severity.Warn, Assert.Single(uk.Check(worldview)).Severity);

        const string ni = "He does not have a National Insurance number yet.";
        Assert.Empty(Checker.Check(ni));
        Assert.Equal("race-ethnicity-origin", Assert.Single(uk.Check(ni)).Category);

        const string spent = "He has a spent conviction.";
        Assert.Equal(Severity.Warn, Assert.Single(Checker.Check(spent)).Severity);
        Assert.Equal(Severity.Block, Assert.Single(uk.Check(spent)).Severity);
    }

    [Fact]
    public void Empty_and_whitespace_text_has_no_findings()
    {
        Assert.Empty(Checker.Check(string.Empty));
        Assert.Empty(Checker.Check("   \n\t  "));
        Assert.Empty(Checker.Check("…!?"));
    }

    [Fact]
    public void Very_long_text_is_checked_completely_with_correct_offsets()
    {
        const string sentence = "He disabled the feature flag and wrote clean tests. At his age he learns fast. ";
        var builder = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
        {
            builder.Append(sentence);
        }

        var text = builder.ToString(); // about 1.6 MB
        var findings = Checker.Check(text);

        Assert.Equal(20_000, findings.Count);
        Assert.All(findings, f => Assert.Equal("age.at-his-age", f.RuleId));
        var last = findings[^1];
        Assert.Equal(text.LastIndexOf("At his age", StringComparison.Ordinal), last.Start);
    }

    [Fact]
    public void Long_text_gives_the_same_findings_as_its_sentences_checked_one_by_one()
    {
        // Long text is checked in chunks cut at sentence ends; this proves the cuts change nothing.
        var sentences = CorpusItem.Load().Select(i => i.Text).ToArray();
        var builder = new StringBuilder();
        var expected = new List<Finding>();
        for (var i = 0; builder.Length < 100_000; i++)
        {
            var sentence = sentences[(i * 7) % sentences.Length];
            var offset = builder.Length;
            expected.AddRange(Checker.Check(sentence).Select(f => f with { Start = f.Start + offset }));
            builder.Append(sentence).Append(i % 5 == 4 ? "\n\n" : " ");
        }

        var actual = Checker.Check(builder.ToString());

        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_compiled_checker_gives_the_same_answers_from_many_threads()
    {
        var texts = CorpusItem.Load().Select(i => i.Text).ToArray();
        var expected = texts.Select(t => Checker.Check(t).Count).ToArray();
        var actual = new int[texts.Length];

        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var index = i % texts.Length;
            Interlocked.Exchange(ref actual[index], Checker.Check(texts[index]).Count);
        });

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Severity_serialises_as_lower_case_words()
    {
        var json = JsonSerializer.Serialize(new[] { Severity.Warn, Severity.Block });
        Assert.Equal("[\"warn\",\"block\"]", json);
        Assert.Equal(Severity.Block, JsonSerializer.Deserialize<Severity>("\"block\""));
    }

    [Fact]
    public void The_catalog_is_versioned_and_covers_every_required_category()
    {
        var catalog = RuleCatalog.Default;
        string[] required =
        [
            "age", "sex-gender", "pregnancy-family", "race-ethnicity-origin", "religion", "disability-health",
            "sexual-orientation-gender-identity", "marital-status", "union-complaints", "appearance",
            "criminal-record-military", "culture-fit-vague", "comparison", "promises", "salary-history", "insults-character",
        ];

        Assert.False(string.IsNullOrWhiteSpace(catalog.Version));
        Assert.Equal(["US", "UK", "DE"], catalog.Jurisdictions);
        Assert.Equal(required, catalog.Categories);
        foreach (var category in required)
        {
            Assert.Contains(Us.Rules, r => r.Category == category);
        }

        Assert.All(Us.Rules, r => Assert.StartsWith(r.Category + ".", r.Id, StringComparison.Ordinal));
    }

    [Fact]
    public void A_malformed_catalog_is_rejected_with_a_clear_message()
    {
        const string json = """
            {"version":"1","categories":[{"id":"age","name":"Age","protected":true,"severity":"block","reason":"r","suggestion":"s"}],"jurisdictions":[{"code":"US","name":"US"}],
             "rules":[{"id":"x.y","category":"nope","severity":"warn","patterns":["a"],"reason":"r","suggestion":"s"}]}
            """;
        var error = Assert.Throws<InvalidOperationException>(() => RuleCatalog.Parse(json));
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FeedbackHub.Domain.Language")]
    [InlineData("FeedbackHub.Domain.Model")]
    [InlineData("FeedbackHub.Domain.Templates")]
    [InlineData("FeedbackHub.Domain.Authoring")]
    [InlineData("FeedbackHub.Domain.Delivery")]
    [InlineData("FeedbackHub.Domain.Auditing")]
    [InlineData("FeedbackHub.Domain.Rendering")]
    [InlineData("FeedbackHub.Domain.Email")]
    [InlineData("FeedbackHub.Domain.Webhooks")]
    public void The_model_and_the_checker_do_not_use_EF_Core_or_Npgsql_types(string ns)
    {
        var types = typeof(LanguageChecker).Assembly.GetTypes()
            .Where(t => t.Namespace?.StartsWith(ns, StringComparison.Ordinal) == true)
            .ToArray();
        Assert.NotEmpty(types);

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var used = types.SelectMany(t =>
            t.GetFields(all).Select(f => f.FieldType)
                .Concat(t.GetProperties(all).Select(p => p.PropertyType))
                .Concat(t.GetMethods(all).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                .Concat(t.GetConstructors(all).SelectMany(c => c.GetParameters().Select(p => p.ParameterType)))
                .Append(t.BaseType ?? typeof(object))
                .Concat(t.GetInterfaces()));

        var offending = used
            .SelectMany(Flatten)
            .Select(t => t.Assembly.GetName().Name ?? string.Empty)
            .Where(name => name.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal) || name.StartsWith("Npgsql", StringComparison.Ordinal))
            .Distinct()
            .ToArray();
        Assert.Empty(offending);

        static IEnumerable<Type> Flatten(Type type) =>
            type.IsGenericType
                ? type.GetGenericArguments().SelectMany(Flatten).Append(type)
                : type.HasElementType ? Flatten(type.GetElementType()!).Append(type) : [type];
    }

    [Fact]
    public void Domain_does_not_reference_the_sentence_model_so_the_Worker_neither_ships_nor_loads_it()
    {
        var referenced = typeof(LanguageChecker).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToArray();
        Assert.DoesNotContain(referenced, name =>
            name.StartsWith("SentenceTransformers", StringComparison.Ordinal)
            || name.StartsWith("Microsoft.ML", StringComparison.Ordinal)
            || name == "FeedbackHub.Language.Semantic");
        Assert.DoesNotContain(typeof(LanguageChecker).Assembly.GetManifestResourceNames(), name => name.Contains("semantic-model", StringComparison.Ordinal));
    }
}
