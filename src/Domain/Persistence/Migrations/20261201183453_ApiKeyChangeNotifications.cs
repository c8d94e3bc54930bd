using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace FeedbackHub.Domain.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class ApiKeyChangeNotifications : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Every API replica caches authenticated keys and listens on this channel: any change to a key (revocation
            // above all), whoever makes it, evicts it everywhere at commit.
            migrationBuilder.Sql("""
                CREATE FUNCTION api_keys_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('api_key_changed', OLD.prefix);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER api_keys_notify_change AFTER UPDATE OR DELETE ON api_keys
                    FOR EACH ROW EXECUTE FUNCTION api_keys_notify_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER api_keys_notify_change ON api_keys; DROP FUNCTION api_keys_notify_change();");
        }
    }
}
