using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Domain.Tests.Persistence;

public sealed class PlannerMethodsTests
{
    [Fact]
    public void The_methods_are_off_before_the_statement_and_back_to_their_defaults_after_it_in_one_command()
    {
        var sql = PlannerMethods.WithoutRaw("SELECT 1", PlannerMethods.HashJoin, PlannerMethods.MergeJoin);

        Assert.Equal("""
            SET LOCAL enable_hashjoin = off;
            SET LOCAL enable_mergejoin = off;
            SELECT 1;
            SET LOCAL enable_hashjoin TO DEFAULT;
            SET LOCAL enable_mergejoin TO DEFAULT
            """.ReplaceLineEndings("\n"), sql);
    }

    [Fact]
    public void An_interpolated_statement_keeps_its_values_as_parameters()
    {
        var ids = new[] { Guid.NewGuid() };
        var evil = "x'; DROP TABLE candidates; --";

        var sql = PlannerMethods.Without($"SELECT id FROM candidates WHERE id = ANY({ids}) AND first_name = {evil}", PlannerMethods.SeqScan);

        Assert.Equal(
            "SET LOCAL enable_seqscan = off;\nSELECT id FROM candidates WHERE id = ANY({0}) AND first_name = {1};\nSET LOCAL enable_seqscan TO DEFAULT",
            sql.Format);
        Assert.Equal([ids, evil], sql.GetArguments());
    }

    [Fact]
    public void For_a_batch_without_a_transaction_of_its_own_the_methods_are_off_until_the_implicit_one_ends()
    {
        Assert.Equal("SELECT set_config('enable_nestloop', 'off', true)", PlannerMethods.OffForTransaction(PlannerMethods.NestLoop));
        Assert.Equal(
            "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
            PlannerMethods.OffForTransaction(PlannerMethods.HashJoin, PlannerMethods.MergeJoin));
    }

    [Theory]
    [InlineData("")]
    [InlineData("nestloop; RESET ALL")]
    [InlineData("seqscan,seqscan")]
    public void Only_distinct_known_methods_are_accepted(string names)
    {
        var methods = names.Split(',', StringSplitOptions.RemoveEmptyEntries);

        Assert.Throws<ArgumentException>(() => PlannerMethods.WithoutRaw("SELECT 1", methods));
        Assert.Throws<ArgumentException>(() => PlannerMethods.Without($"SELECT {1}", methods));
        Assert.Throws<ArgumentException>(() => PlannerMethods.OffForTransaction(methods));
    }
}
