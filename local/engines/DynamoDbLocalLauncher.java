// Starts DynamoDB Local bound to one interface (127.0.0.1 unless -Ddynamodb.local.host is set).
// DynamoDB Local has no host option: ServerRunner builds a Jetty Server(port), which listens on all
// interfaces. We let it parse its usual command line, then set the host on the Jetty connectors
// before starting it. Compiled into the engine cache by local/engines/dynamodb-local.ts.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDbLocalLauncher {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("dynamodb.local.host", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ((AbstractNetworkConnector) connector).setHost(host);
    }
    // Telemetry is not configured (ServerRunner.main would do it); -disableTelemetry is passed anyway.
    proxy.start();
    // start() only prints bind errors and stops the server: turn that into a failing exit code.
    if (!server.isStarted()) {
      System.exit(1);
    }
    System.out.println("DynamoDB Local listening on " + host);
  }
}
