/** The app's TCP stack for the WebSocket server: react-native-tcp-socket, whose API mirrors Node's `net`. */
import TcpSocket from 'react-native-tcp-socket';
import type { TcpModuleLike } from '../ws/socket-types';

/** react-native-tcp-socket as the WebSocket server's TCP module. */
export const rnTcp: TcpModuleLike = TcpSocket;
